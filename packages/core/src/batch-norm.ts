import * as tf from '@tensorflow/tfjs-core';
import { kernels, kernelTensor as tensorFrom, tensorValues as values } from './kernels/runtime.js';

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
 * Training-mode batch norm over all axes but the last, with an analytic gradient.
 *
 * Why not tfjs's `batchNorm` or plain ops: tfjs's gradient throws without scale/offset and tiles
 * full-size tensors; and any per-channel reduction over the leading axes (a mean, or the
 * gradient of a broadcast multiply) makes the wasm backend transpose the whole activation. Here
 * every per-channel sum is a `[1, R] × [R, C]` matrix product instead, and the backward pass is
 * the closed form `dx = γ/σ · (dy − mean(dy) − x̂·mean(dy·x̂))`, `dγ = Σ dy·x̂`, `dβ = Σ dy`.
 *
 * `variance` is the biased batch variance used for normalisation; update running statistics
 * with {@link updateRunningStats}. `mean` and `variance` carry no gradient.
 *
 * When lowbit's WebAssembly kernels are loaded (see {@link setKernelsEnabled}), forward and
 * backward each run as one fused SIMD kernel (a few passes over the data) instead.
 */
export function batchNormTrain(x: tf.Tensor, p: BatchNormParams): BatchNormTrainResult {
  if (kernels() && x.dtype === 'float32') return batchNormTrainFused(x, p);
  const c = x.shape[x.rank - 1]!;
  const r = x.size / c;
  const shape = x.shape;
  let stats: [tf.Tensor, tf.Tensor] | null = null;
  const bn = tf.customGrad(((xs: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, save: tf.GradSaveFunc) => {
    const x2 = tf.reshape(xs, [r, c]);
    const avg = tf.fill([1, r], 1 / r);
    const mean = tf.matMul(avg, x2);
    const centered = tf.sub(x2, mean);
    const variance = tf.matMul(avg, tf.square(centered));
    const inv = tf.rsqrt(tf.add(variance, p.epsilon));
    const xhat = tf.mul(centered, inv);
    const y = tf.add(tf.mul(xhat, gamma), beta);
    stats = [tf.keep(tf.reshape(mean, [c])), tf.keep(tf.reshape(variance, [c]))];
    save([xhat, inv, gamma]);
    return {
      value: tf.reshape(y, shape),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xh, iv, g] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        const dy2 = tf.reshape(dy, [r, c]);
        const ones = tf.ones([1, r]);
        const dbeta = tf.matMul(ones, dy2);
        const dgamma = tf.matMul(ones, tf.mul(dy2, xh));
        const inner = tf.sub(dy2, tf.mul(tf.add(dbeta, tf.mul(xh, dgamma)), 1 / r));
        const dx = tf.mul(inner, tf.mul(g, iv));
        return [tf.reshape(dx, shape), tf.reshape(dgamma, [c]), tf.reshape(dbeta, [c])];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  const y = bn(x, p.gamma, p.beta);
  const [m, v] = stats as unknown as [tf.Tensor, tf.Tensor];
  // Re-home the statistics in the caller's scope (they were kept to escape customGrad's).
  const mean = tf.clone(m) as tf.Tensor1D;
  const variance = tf.clone(v) as tf.Tensor1D;
  m.dispose();
  v.dispose();
  return { y, mean, variance };
}

/** {@link batchNormTrain} with the fused kernels of `packages/core/kernels/batch_norm.c`. */
function batchNormTrainFused(x: tf.Tensor, p: BatchNormParams): BatchNormTrainResult {
  const k = kernels()!;
  const c = x.shape[x.rank - 1]!;
  const r = x.size / c;
  const shape = x.shape;
  let stats: [tf.Tensor, tf.Tensor] | null = null;
  const bn = tf.customGrad(((xs: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, save: tf.GradSaveFunc) => {
    const gv = Float32Array.from(values(gamma));
    const f = k.batchNormForward(values(xs), gv, values(beta), p.epsilon, r, c);
    const y = tensorFrom(f.y, shape);
    const xhat = tensorFrom(f.xhat, [r, c]);
    const inv = tensorFrom(f.inv, [c]);
    stats = [tf.keep(tensorFrom(f.mean, [c])), tf.keep(tensorFrom(f.variance, [c]))];
    save([xhat, inv, gamma]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xh, iv, g] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        const gs = Float32Array.from(values(g));
        const is = Float32Array.from(values(iv));
        // the kernel copies its inputs before it runs; dy and xhat are read straight from the tfjs heap
        const b = k.batchNormBackward(values(dy), values(xh), gs, is, r, c);
        return [tensorFrom(b.dx, shape), tensorFrom(b.dgamma, [c]), tensorFrom(b.dbeta, [c])];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  const y = bn(x, p.gamma, p.beta);
  const [m, v] = stats as unknown as [tf.Tensor, tf.Tensor];
  const mean = tf.clone(m) as tf.Tensor1D;
  const variance = tf.clone(v) as tf.Tensor1D;
  m.dispose();
  v.dispose();
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
