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
  /** Rows the statistics were computed over (`x.size / channels`, summed over replicas under {@link setBatchNormSync}). */
  count: number;
}

/**
 * Sums per-channel statistics over the replicas that each hold part of one batch (data
 * parallelism). `allReduce` replaces `v` by its elementwise sum over all replicas, summed in the
 * same order on every replica so that all of them get identical values.
 */
export interface BatchReducer {
  allReduce(v: Float64Array): void;
}

let batchSync: BatchReducer | null = null;

/**
 * Makes every following training-mode batch norm of this thread (see {@link batchNormTrain})
 * normalise with the statistics of the whole batch split over the replicas of `reducer`
 * (synchronised batch norm), or, with `null`, with those of its own input again. Under a
 * reducer the gradients of γ and β are this replica's share (summed with the other replicas'
 * parameter gradients they add up to the full-batch gradient); x's gradient is exact.
 */
export function setBatchNormSync(reducer: BatchReducer | null): void {
  batchSync = reducer;
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
  if (batchSync) return runBatchNorm(x, p, syncPath(batchSync, !!kernels() && x.dtype === 'float32'));
  return runBatchNorm(x, p, kernels() && x.dtype === 'float32' ? fusedPath : opPath);
}

/**
 * One implementation of training-mode batch norm over `x` viewed as `[r, c]`: the forward gives
 * the output (x's shape), the saved x̂ (`[r, c]`) and 1/σ, and the batch mean and variance (`[c]`);
 * the backward the gradients for x, γ and β (x's shape, `[c]`, `[c]`).
 */
interface BatchNormPath {
  forward(xs: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, epsilon: number, r: number, c: number): { y: tf.Tensor; xhat: tf.Tensor; inv: tf.Tensor; mean: tf.Tensor; variance: tf.Tensor };
  backward(dy: tf.Tensor, xhat: tf.Tensor, inv: tf.Tensor, gamma: tf.Tensor, r: number, c: number, shape: number[]): [tf.Tensor, tf.Tensor, tf.Tensor];
}

/** tfjs ops; every per-channel sum a `[1, R] × [R, C]` product (no activation-sized transposes). */
const opPath: BatchNormPath = {
  forward(xs, gamma, beta, epsilon, r, c) {
    const x2 = tf.reshape(xs, [r, c]);
    const avg = tf.fill([1, r], 1 / r);
    const mean = tf.matMul(avg, x2);
    const centered = tf.sub(x2, mean);
    const variance = tf.matMul(avg, tf.square(centered));
    const inv = tf.rsqrt(tf.add(variance, epsilon));
    const xhat = tf.mul(centered, inv);
    const y = tf.add(tf.mul(xhat, gamma), beta);
    return { y: tf.reshape(y, xs.shape), xhat, inv, mean: tf.reshape(mean, [c]), variance: tf.reshape(variance, [c]) };
  },
  backward(dy, xh, iv, g, r, c, shape) {
    const dy2 = tf.reshape(dy, [r, c]);
    const ones = tf.ones([1, r]);
    const dbeta = tf.matMul(ones, dy2);
    const dgamma = tf.matMul(ones, tf.mul(dy2, xh));
    const inner = tf.sub(dy2, tf.mul(tf.add(dbeta, tf.mul(xh, dgamma)), 1 / r));
    const dx = tf.mul(inner, tf.mul(g, iv));
    return [tf.reshape(dx, shape), tf.reshape(dgamma, [c]), tf.reshape(dbeta, [c])];
  },
};

/** The fused kernels of `packages/core/kernels/batch_norm.c` (inputs read straight from the tfjs heap; the kernel copies them before it runs). */
const fusedPath: BatchNormPath = {
  forward(xs, gamma, beta, epsilon, r, c) {
    const f = kernels()!.batchNormForward(values(xs), values(gamma), values(beta), epsilon, r, c);
    return { y: tensorFrom(f.y, xs.shape), xhat: tensorFrom(f.xhat, [r, c]), inv: tensorFrom(f.inv, [c]), mean: tensorFrom(f.mean, [c]), variance: tensorFrom(f.variance, [c]) };
  },
  backward(dy, xh, iv, g, r, c, shape) {
    const b = kernels()!.batchNormBackward(values(dy), values(xh), values(g), values(iv), r, c);
    return [tensorFrom(b.dx, shape), tensorFrom(b.dgamma, [c]), tensorFrom(b.dbeta, [c])];
  },
};

/** Column sums of an `[r, c]` tensor (a float32 matrix product), as float64. */
function columnSums(x2: tf.Tensor, r: number): Float64Array {
  const s = tf.tidy(() => tf.matMul(tf.ones([1, r]), x2));
  const out = Float64Array.from(s.dataSync());
  s.dispose();
  return out;
}

/** float32 of each element of `v` divided by `n`. */
function meanOf(v: Float64Array, n: number, from = 0, len = v.length - from): Float32Array {
  const out = new Float32Array(len);
  for (let i = 0; i < len; i++) out[i] = v[from + i]! / n;
  return out;
}

type SyncPath = BatchNormPath & { rows: number };

/**
 * Synchronised batch norm: the arithmetic of {@link fusedPath} (or, without the kernels, of
 * tfjs ops) with each per-channel sum summed over the replicas first (the row count travels with
 * the first sum); γ/β gradients are this replica's share.
 */
function syncPath(reducer: BatchReducer, useKernels: boolean): SyncPath {
  const reduce = (v: Float64Array) => reducer.allReduce(v);
  if (useKernels) {
    const path: SyncPath = {
      rows: 0,
      forward(xs, gamma, beta, epsilon, r, c) {
        const f = kernels()!.batchNormForwardSynced(values(xs), values(gamma), values(beta), epsilon, r, c, reduce);
        path.rows = f.rows;
        return { y: tensorFrom(f.y, xs.shape), xhat: tensorFrom(f.xhat, [r, c]), inv: tensorFrom(f.inv, [c]), mean: tensorFrom(f.mean, [c]), variance: tensorFrom(f.variance, [c]) };
      },
      backward(dy, xh, iv, g, r, c, shape) {
        const b = kernels()!.batchNormBackwardSynced(values(dy), values(xh), values(g), values(iv), r, c, path.rows, reduce);
        return [tensorFrom(b.dx, shape), tensorFrom(b.dgamma, [c]), tensorFrom(b.dbeta, [c])];
      },
    };
    return path;
  }
  const path: SyncPath = {
    rows: 0,
    forward(xs, gamma, beta, epsilon, r, c) {
      const x2 = tf.reshape(xs, [r, c]);
      const s = new Float64Array(c + 1);
      s.set(columnSums(x2, r));
      s[c] = r;
      reduce(s);
      const rows = s[c]!;
      path.rows = rows;
      const mean = meanOf(s, rows, 0, c);
      const d2 = tf.tidy(() => tf.square(tf.sub(x2, tf.tensor2d(mean, [1, c]))));
      const sq = columnSums(d2, r);
      d2.dispose();
      reduce(sq);
      const variance = meanOf(sq, rows);
      const eps = Math.fround(epsilon); // as the kernels, which take ε as a float32
      const meanT = tf.tensor1d(mean);
      const invT = tf.tensor1d(variance.map((v) => 1 / Math.sqrt(v + eps)));
      const xhat = tf.mul(tf.sub(x2, meanT), invT);
      const y = tf.reshape(tf.add(tf.mul(xhat, gamma), beta), xs.shape);
      return { y, xhat, inv: invT, mean: meanT, variance: tf.tensor1d(variance) };
    },
    backward(dy, xh, iv, g, r, c, shape) {
      const dy2 = tf.reshape(dy, [r, c]);
      const both = tf.tidy(() => tf.concat([tf.matMul(tf.ones([1, r]), dy2), tf.matMul(tf.ones([1, r]), tf.mul(dy2, xh))], 1));
      const local = Float64Array.from(both.dataSync());
      both.dispose();
      const dbeta = tf.tensor1d(Float32Array.from(local.subarray(0, c)));
      const dgamma = tf.tensor1d(Float32Array.from(local.subarray(c)));
      reduce(local);
      const mb = meanOf(local, path.rows, 0, c);
      const mg = meanOf(local, path.rows, c, c);
      const dx = tf.reshape(tf.mul(tf.sub(dy2, tf.add(tf.tensor2d(mb, [1, c]), tf.mul(xh, tf.tensor2d(mg, [1, c])))), tf.mul(g, iv)), shape);
      return [dx, dgamma, dbeta];
    },
  };
  return path;
}

function runBatchNorm(x: tf.Tensor, p: BatchNormParams, path: BatchNormPath): BatchNormTrainResult {
  const c = x.shape[x.rank - 1]!;
  const r = x.size / c;
  const shape = x.shape;
  let stats: [tf.Tensor, tf.Tensor] | null = null;
  const bn = tf.customGrad(((xs: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, save: tf.GradSaveFunc) => {
    const f = path.forward(xs, gamma, beta, p.epsilon, r, c);
    stats = [tf.keep(f.mean), tf.keep(f.variance)];
    save([f.xhat, f.inv, gamma]);
    return {
      value: f.y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xh, iv, g] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        return path.backward(dy, xh, iv, g, r, c, shape);
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
  return { y, mean, variance, count: 'rows' in path ? (path.rows as number) : r };
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
