import * as tf from '@tensorflow/tfjs-core';
import { type Optimizer, paramGrads } from '@lowbit/core';
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
 * One supervised training step: forward in training mode (BN batch statistics, running stats
 * updated), cross-entropy, gradients of every trainable parameter, optimiser update. All
 * tensors are freed; only two numbers leave.
 */
export function trainStep(net: Network, optimizer: Optimizer, x: tf.Tensor, labels: tf.Tensor): StepResult {
  const params = paramMap(net);
  return tf.tidy(() => {
    // The gradient function disposes what it creates except the loss: the count of correct
    // predictions is computed inside and kept explicitly.
    let correct: tf.Tensor | null = null;
    const { value, grads } = paramGrads(() => {
      const logits = forward(net, x, { training: true, updateBnStats: true }).output;
      correct = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.cast(labels, 'int32')), 'int32')));
      return crossEntropy(logits, labels);
    }, params);
    optimizer.step(params, grads);
    const kept = correct as unknown as tf.Tensor;
    const result = { loss: value.dataSync()[0]!, correct: kept.dataSync()[0]! };
    kept.dispose();
    return result;
  });
}
