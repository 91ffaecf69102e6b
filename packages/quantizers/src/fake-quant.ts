import * as tf from '@tensorflow/tfjs-core';
import { kernels, kernelTensor, tensorValues } from '@lowbit/core';
import type { Grid } from './grid.js';

export interface FakeQuantOptions {
  grid: Grid;
  /**
   * Multiplier of the step-size gradient (LSQ's `1/sqrt(N·qmax)`; 1 = plain LSQ, 0 = frozen
   * step). Default 1.
   */
  gradScale?: number;
}

/**
 * Uniform affine fake quantization `Q(x) = s·(clip(⌊x/s⌉ + z, qmin, qmax) − z)` with
 * - the straight-through gradient for x: `dy` where `qmin ≤ x/s + z ≤ qmax`, 0 outside;
 * - the LSQ gradient for the step s: `Σ dy·((c − z) − x/s)` inside the range, `Σ dy·(q − z)`
 *   at the clipped end `q` (reduced over the axes s broadcasts on), times `gradScale`;
 * - no gradient for the zero point (an integer).
 *
 * `scale` and `zeroPoint` broadcast against x (a scalar for per-tensor, `[1,…,C,…,1]` per channel).
 * Values are computed exactly as {@link dequantizeHardened} computes them, so hardened codes
 * reproduce this output bit for bit. Per-tensor (scalar scale and zero point) on float32 runs as
 * one fused WebAssembly kernel each way when lowbit's kernels are loaded: the same output bit for
 * bit, the step gradient summed in float64.
 */
export function fakeQuantize(x: tf.Tensor, scale: tf.Tensor, zeroPoint: tf.Tensor, o: FakeQuantOptions): tf.Tensor {
  const { qmin, qmax } = o.grid;
  const g = o.gradScale ?? 1;
  if (scale.size === 1 && zeroPoint.size === 1 && x.dtype === 'float32' && kernels()) return fakeQuantizeFused(x, scale, zeroPoint, qmin, qmax, g);
  const f = tf.customGrad(((xs: tf.Tensor, s: tf.Tensor, z: tf.Tensor, save: tf.GradSaveFunc) => {
    const v = tf.add(tf.div(xs, s), z);
    const c = tf.clipByValue(tf.round(v), qmin, qmax);
    const cz = tf.sub(c, z);
    const y = tf.mul(cz, s);
    save([xs, s, z, v, cz]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [x0, s0, z0, v0, cz0] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        const inside = tf.cast(tf.logicalAnd(tf.greaterEqual(v0, qmin), tf.lessEqual(v0, qmax)), 'float32');
        const dx = tf.mul(dy, inside);
        // d y / d s = (c − z) − inside · x/s
        const dyds = tf.sub(cz0, tf.mul(inside, tf.div(x0, s0)));
        let ds = reduceTo(tf.mul(dy, dyds), s0.shape);
        if (g !== 1) ds = tf.mul(ds, g);
        return [dx, ds, tf.zerosLike(z0)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x, scale, zeroPoint);
}

function fakeQuantizeFused(x: tf.Tensor, scale: tf.Tensor, zeroPoint: tf.Tensor, qmin: number, qmax: number, g: number): tf.Tensor {
  const k = kernels()!;
  const f = tf.customGrad(((xs: tf.Tensor, s: tf.Tensor, z: tf.Tensor, save: tf.GradSaveFunc) => {
    const sv = s.dataSync()[0]!;
    const zv = z.dataSync()[0]!;
    const y = kernelTensor(k.fakeQuantForward(tensorValues(xs), sv, zv, qmin, qmax), xs.shape);
    save([xs, s, z]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [x0, s0, z0] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        const b = k.fakeQuantBackward(tensorValues(x0), tensorValues(dy), sv, zv, qmin, qmax);
        const dx = kernelTensor(b.dx, x0.shape);
        return [dx, tf.reshape(tf.scalar(b.ds * g), s0.shape), tf.zerosLike(z0)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x, scale, zeroPoint);
}

/** Sums `t` over the axes where `shape` is 1 (or missing), to the broadcast shape `shape`. */
function reduceTo(t: tf.Tensor, shape: number[]): tf.Tensor {
  if (shape.length === 0) return tf.sum(t);
  const axes: number[] = [];
  const offset = t.rank - shape.length;
  for (let i = 0; i < t.rank; i++) if (i < offset || shape[i - offset] === 1) axes.push(i);
  if (axes.length === 0) return t;
  return tf.reshape(tf.sum(t, axes), shape);
}

/** Straight-through rounding: `⌊x⌉` forward, identity gradient. */
export function roundSte(x: tf.Tensor): tf.Tensor {
  const f = tf.customGrad(((xs: tf.Tensor) => ({ value: tf.round(xs), gradFunc: (dy: tf.Tensor) => dy })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x);
}
