import * as tf from '@tensorflow/tfjs-core';
import { initBackend, kernels, Rng, setKernelsEnabled } from '@lowbit/core';
import { describe, expect, it } from 'vitest';
import { fakeQuantize, grid } from '../src/index.js';

/** y, dx and ds of Σ fakeQuantize(x)·d, as plain arrays. */
function run(x: Float32Array, d: Float32Array, s: number, z: number, bits: number, signed: boolean, gradScale: number): [Float32Array, Float32Array, number] {
  return tf.tidy(() => {
    const g = grid(bits, signed);
    const y = fakeQuantize(tf.tensor1d(x), tf.scalar(s), tf.scalar(z), { grid: g, gradScale }).dataSync().slice() as Float32Array;
    const [dx, ds] = tf.grads((xt: tf.Tensor, st: tf.Tensor) => tf.sum(tf.mul(fakeQuantize(xt, st, tf.scalar(z), { grid: g, gradScale }), tf.tensor1d(d))))([tf.tensor1d(x), tf.scalar(s)]);
    return [y, dx!.dataSync().slice() as Float32Array, ds!.dataSync()[0]!];
  });
}

/** Float64 LSQ step gradient of Σ fakeQuantize(x)·d, and Σ|terms| (the sum's conditioning). */
function dsReference(x: Float32Array, d: Float32Array, s: number, z: number, qmin: number, qmax: number, gradScale: number): { ds: number; abs: number } {
  const f = Math.fround;
  const s32 = f(s);
  let sum = 0;
  let abs = 0;
  for (let i = 0; i < x.length; i++) {
    const xs = f(x[i]! / s32);
    const v = f(xs + z);
    const r = Math.round(v);
    const even = r - v === 0.5 && r % 2 !== 0 ? r - 1 : r; // round half to even
    const c = Math.min(Math.max(even, qmin), qmax);
    const inside = v >= qmin && v <= qmax;
    const t = d[i]! * (c - z - (inside ? xs : 0));
    sum += t;
    abs += Math.abs(t);
  }
  return { ds: sum * gradScale, abs: abs * gradScale };
}

describe('fused per-tensor fake quantization kernel', () => {
  it('equals the tfjs-op path bit for bit (values, ties, clamping, zero points) and its step gradient within 1e-5, over both V8 tiers', async () => {
    await initBackend({ backend: 'wasm', fallback: false });
    expect(kernels()).not.toBeNull();
    const rng = new Rng(21);
    let worstDs = 0;
    for (let it = 0; it < 40; it++) {
      const n = [7, 1000, 4099, 33][it % 4]!;
      const s = 0.05 + rng.float() * 0.4;
      const [bits, signed, z] = ([[4, false, 0], [3, true, 0], [8, false, 3], [2, true, -1]] as const)[it % 4]!;
      // values on exact half steps (ties) and far outside the range, besides ordinary ones
      const x = Float32Array.from({ length: n }, (_, i) => (i % 5 === 0 ? (Math.round(rng.normal() * 8) + 0.5) * s : rng.normal() * 6 * s * (1 << bits) * 0.25));
      const d = Float32Array.from({ length: n }, () => rng.normal());
      const fused = run(x, d, s, z, bits, signed, 0.5);
      const prev = setKernelsEnabled(false);
      const plain = run(x, d, s, z, bits, signed, 0.5);
      setKernelsEnabled(prev);
      expect(Array.from(fused[0])).toEqual(Array.from(plain[0]));
      expect(Array.from(fused[1]).map((v) => v + 0)).toEqual(Array.from(plain[1]).map((v) => v + 0));
      // the step gradient sums terms of both signs: measured against float64, relative to Σ|terms|
      const ref = dsReference(x, d, s, z, grid(bits, signed).qmin, grid(bits, signed).qmax, 0.5);
      const errFused = Math.abs(fused[2] - ref.ds) / ref.abs;
      const errPlain = Math.abs(plain[2] - ref.ds) / ref.abs;
      worstDs = Math.max(worstDs, errFused);
      expect(errFused).toBeLessThanOrEqual(Math.max(errPlain, 1e-7));
    }
    expect(worstDs).toBeLessThan(1e-6);
  });

  it('leaks no tensors over 100 steps with gradients', async () => {
    await initBackend({ backend: 'wasm', fallback: false });
    const x = tf.randomNormal([4, 8, 8, 3], 0, 1, 'float32', 1);
    const s = tf.scalar(0.1);
    const z = tf.scalar(0);
    const step = () => tf.tidy(() => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(fakeQuantize(a, b, z, { grid: grid(4, true) })))([x, s]));
    tf.dispose(step());
    const before = tf.memory().numTensors;
    for (let i = 0; i < 100; i++) tf.dispose(step());
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, s, z]);
  });
});
