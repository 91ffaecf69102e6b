import * as tf from '@tensorflow/tfjs-core';
import { broadcastParams, type Optimizer, ReplicaGroup, replicaParamGrads } from '@lowbit/core';
import { forward, type Network, paramMap } from '@lowbit/nn';

/** Mean softmax cross-entropy of logits against integer labels. */
export function crossEntropy(logits: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const logp = tf.logSoftmax(logits);
    const onehot = tf.oneHot(tf.cast(labels, 'int32') as tf.Tensor1D, logits.shape[1]!);
    return tf.neg(tf.mean(tf.sum(tf.mul(onehot, logp), 1))) as tf.Scalar;
  });
}

export interface StepResult {
  loss: number;
  correct: number;
}

/**
 * One rank's part of a (data-parallel) training step: take rank 0's parameters (all of them, so
 * running statistics too), forward in training mode (BN batch statistics, synchronised over the
 * group; running stats updated) and backward on this share of the batch, whose fraction of the
 * whole batch is `weight`, and sum loss, gradients and correct counts over the ranks. Returns the
 * summed gradients (the caller disposes them) — the whole batch's. On a group of one this is the
 * plain step's gradient computation.
 */
export function shardGrads(group: ReplicaGroup, net: Network, x: tf.Tensor, labels: tf.Tensor, weight: number) {
  broadcastParams(group, paramMap(net, 'all'));
  const params = paramMap(net);
  let correct: tf.Tensor | null = null;
  const { value, grads } = replicaParamGrads(group, params, () => {
    const logits = forward(net, x, { training: true, updateBnStats: true }).output;
    correct = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.cast(labels, 'int32')), 'int32')));
    const loss = crossEntropy(logits, labels);
    return weight === 1 ? loss : (tf.mul(loss, weight) as tf.Scalar);
  });
  const kept = correct as unknown as tf.Tensor;
  const counts = new Float64Array([kept.dataSync()[0]!]);
  kept.dispose();
  group.allReduce(counts);
  return { loss: value, correct: counts[0]!, grads };
}

const SOLO = ReplicaGroup.solo();

/**
 * One supervised training step: forward in training mode (BN batch statistics, running stats
 * updated), cross-entropy, gradients of every trainable parameter, optimiser update. All
 * tensors are freed; only two numbers leave.
 */
export function trainStep(net: Network, optimizer: Optimizer, x: tf.Tensor, labels: tf.Tensor): StepResult {
  return tf.tidy(() => {
    const r = shardGrads(SOLO, net, x, labels, 1);
    optimizer.step(paramMap(net), r.grads);
    tf.dispose(Object.values(r.grads));
    return { loss: r.loss, correct: r.correct };
  });
}
