import * as tf from '@tensorflow/tfjs-core';

/** Batch-norm parameters of one layer (channels last). */
export interface BatchNormParams {
  gamma: tf.Tensor1D;
  beta: tf.Tensor1D;
  epsilon: number;
}

/** Result of a training-mode batch norm: the output and the batch statistics it used. */
export interface BatchNormTrainResult {
  y: tf.Tensor;
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
}

/**
 * Training-mode batch norm over all axes but the last, written with plain ops so that its
 * gradient works on every backend (tfjs's own `batchNorm` gradient throws without scale/offset
 * and tiles full-size tensors). `variance` is the biased batch variance, as used for
 * normalisation; update running statistics with {@link updateRunningStats}.
 */
export function batchNormTrain(x: tf.Tensor, p: BatchNormParams): BatchNormTrainResult {
  const axes = reductionAxes(x.rank);
  const mean = tf.mean(x, axes) as tf.Tensor1D;
  const centered = tf.sub(x, mean);
  const variance = tf.mean(tf.square(centered), axes) as tf.Tensor1D;
  const a = tf.mul(p.gamma, tf.rsqrt(tf.add(variance, p.epsilon)));
  const y = tf.add(tf.mul(centered, a), p.beta);
  return { y, mean, variance };
}

/** Inference-mode batch norm with running statistics: `y = x·a + b` per channel. */
export function batchNormInfer(
  x: tf.Tensor,
  p: BatchNormParams,
  runningMean: tf.Tensor1D,
  runningVariance: tf.Tensor1D,
): tf.Tensor {
  const a = tf.mul(p.gamma, tf.rsqrt(tf.add(runningVariance, p.epsilon)));
  const b = tf.sub(p.beta, tf.mul(runningMean, a));
  return tf.add(tf.mul(x, a), b);
}

/**
 * Exponential moving average update of running statistics, Keras convention:
 * `running = momentum·running + (1 − momentum)·batch`. The batch variance is made unbiased
 * (×n/(n−1)) as Keras and PyTorch do. Returns new tensors; the caller assigns them.
 */
export function updateRunningStats(
  runningMean: tf.Tensor1D,
  runningVariance: tf.Tensor1D,
  batchMean: tf.Tensor1D,
  batchVariance: tf.Tensor1D,
  count: number,
  momentum: number,
): { mean: tf.Tensor1D; variance: tf.Tensor1D } {
  return tf.tidy(() => {
    const unbiased = count > 1 ? tf.mul(batchVariance, count / (count - 1)) : batchVariance;
    const mean = tf.add(tf.mul(runningMean, momentum), tf.mul(batchMean, 1 - momentum)) as tf.Tensor1D;
    const variance = tf.add(tf.mul(runningVariance, momentum), tf.mul(unbiased, 1 - momentum)) as tf.Tensor1D;
    return { mean, variance };
  });
}

function reductionAxes(rank: number): number[] {
  const axes: number[] = [];
  for (let i = 0; i < rank - 1; i++) axes.push(i);
  return axes;
}
