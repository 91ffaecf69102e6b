import * as tf from '@tensorflow/tfjs-core';
import { forward, type Network, trainableVariables } from '@lowbit/nn';

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
 * updated), cross-entropy, gradients of all trainable variables, optimiser update. Everything
 * is inside `tf.tidy`; only two numbers leave it.
 */
export function trainStep(net: Network, optimizer: tf.Optimizer, x: tf.Tensor, labels: tf.Tensor, weightDecay = 0): StepResult {
  const vars = trainableVariables(net);
  const decayed = weightDecay > 0 ? vars.filter((v) => v.rank > 1) : [];
  return tf.tidy(() => {
    // variableGrads disposes everything its function creates except the loss: the count of
    // correct predictions is computed inside and kept explicitly.
    let correct: tf.Tensor | null = null;
    const { value, grads } = tf.variableGrads(() => {
      const logits = forward(net, x, { training: true, updateBnStats: true }).output;
      correct = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.cast(labels, 'int32')), 'int32')));
      let loss = crossEntropy(logits, labels);
      if (decayed.length > 0) {
        const l2 = tf.addN(decayed.map((v) => tf.sum(tf.square(v))));
        loss = tf.add(loss, tf.mul(l2, weightDecay / 2)) as tf.Scalar;
      }
      return loss;
    }, vars);
    optimizer.applyGradients(grads);
    const kept = correct as unknown as tf.Tensor;
    const result = { loss: value.dataSync()[0]!, correct: kept.dataSync()[0]! };
    kept.dispose();
    return result;
  });
}
