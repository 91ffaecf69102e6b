import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { batchNormInfer, batchNormTrain, kernels, Rng, setBatchNormSync, setKernelsEnabled, updateRunningStats } from '../src/index.js';
import { onBackend, relErr } from './helpers.js';

function f64BatchNorm(x: Float32Array, c: number, gamma: Float32Array, beta: Float32Array, eps: number): Float64Array {
  const n = x.length / c;
  const mean = new Float64Array(c);
  const v = new Float64Array(c);
  for (let i = 0; i < x.length; i++) mean[i % c]! += x[i]! / n;
  for (let i = 0; i < x.length; i++) v[i % c]! += (x[i]! - mean[i % c]!) ** 2 / n;
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const ch = i % c;
    y[i] = ((x[i]! - mean[ch]!) / Math.sqrt(v[ch]! + eps)) * gamma[ch]! + beta[ch]!;
  }
  return y;
}

/** Float64 training-mode batch norm: y, mean, variance and the gradients of Σ y·d w.r.t. x, gamma, beta. */
function f64Everything(x: Float32Array, c: number, gamma: Float32Array, beta: Float32Array, d: Float32Array, eps: number): Float64Array[] {
  const n = x.length / c;
  const mean = new Float64Array(c);
  const v = new Float64Array(c);
  for (let i = 0; i < x.length; i++) mean[i % c]! += x[i]!;
  for (let k = 0; k < c; k++) mean[k]! /= n;
  for (let i = 0; i < x.length; i++) v[i % c]! += (x[i]! - mean[i % c]!) ** 2;
  for (let k = 0; k < c; k++) v[k]! /= n;
  const inv = v.map((vv) => 1 / Math.sqrt(vv + eps));
  const xhat = new Float64Array(x.length);
  const y = new Float64Array(x.length);
  const dg = new Float64Array(c);
  const db = new Float64Array(c);
  for (let i = 0; i < x.length; i++) {
    const k = i % c;
    xhat[i] = (x[i]! - mean[k]!) * inv[k]!;
    y[i] = xhat[i]! * gamma[k]! + beta[k]!;
    db[k]! += d[i]!;
    dg[k]! += d[i]! * xhat[i]!;
  }
  const dx = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const k = i % c;
    dx[i] = gamma[k]! * inv[k]! * (d[i]! - (db[k]! + xhat[i]! * dg[k]!) / n);
  }
  return [y, mean, v, dx, dg, db];
}

describe('hand-written batch norm', () => {
  const shape: [number, number, number, number] = [3, 4, 5, 6];
  const rng = new Rng(7);
  const xv = new Float32Array(3 * 4 * 5 * 6).map(() => rng.normal() * 2 + 1);
  const gv = new Float32Array(6).map(() => 0.5 + rng.float());
  const bv = new Float32Array(6).map(() => rng.normal());
  const dv = new Float32Array(xv.length).map(() => rng.normal());

  for (const backend of ['wasm', 'cpu'] as const) {
    it(`training mode equals a float64 reference (${backend})`, async () => {
      const y = await onBackend(backend, () =>
        tf.tidy(() => batchNormTrain(tf.tensor4d(xv, shape), { gamma: tf.tensor1d(gv), beta: tf.tensor1d(bv), epsilon: 1e-3 }).y.dataSync().slice()),
      );
      expect(relErr(y, f64BatchNorm(xv, 6, gv, bv, 1e-3))).toBeLessThan(1e-5);
    });

    it(`gradients w.r.t. x, gamma, beta match central finite differences in float64 (${backend})`, async () => {
      const grads = await onBackend(backend, () =>
        tf.tidy(() => {
          const f = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
            tf.sum(tf.mul(batchNormTrain(x, { gamma: g as tf.Tensor1D, beta: b as tf.Tensor1D, epsilon: 1e-3 }).y, tf.tensor4d(dv, shape)));
          const gs = tf.grads(f)([tf.tensor4d(xv, shape), tf.tensor1d(gv), tf.tensor1d(bv)]);
          return gs.map((g) => g.dataSync().slice());
        }),
      );
      const loss = (x: Float32Array, g: Float32Array, b: Float32Array) => {
        const y = f64BatchNorm(x, 6, g, b, 1e-3);
        let s = 0;
        for (let i = 0; i < y.length; i++) s += y[i]! * dv[i]!;
        return s;
      };
      const h = 1e-2;
      const fd = (which: 0 | 1 | 2, i: number) => {
        const args = [xv.slice(), gv.slice(), bv.slice()] as [Float32Array, Float32Array, Float32Array];
        // float32 storage of the perturbed point; the loss itself is evaluated in float64
        const base = args[which][i]!;
        args[which][i] = base + h;
        const up = loss(...args);
        args[which][i] = base - h;
        const down = loss(...args);
        return (up - down) / (2 * h);
      };
      for (const [which, idx] of [
        [0, [0, 17, 101, 359]],
        [1, [0, 3, 5]],
        [2, [1, 4]],
      ] as const) {
        for (const i of idx) {
          const expected = fd(which, i);
          const got = grads[which]![i]!;
          expect(Math.abs(got - expected)).toBeLessThan(2e-3 * Math.max(1, Math.abs(expected)));
        }
      }
    });
  }

  it('inference mode uses running statistics', async () => {
    const y = await onBackend('wasm', () =>
      tf.tidy(() =>
        batchNormInfer(tf.tensor2d([1, 2, 3, 4], [2, 2]), { gamma: tf.tensor1d([2, 1]), beta: tf.tensor1d([0, 1]), epsilon: 0 }, tf.tensor1d([1, 2]), tf.tensor1d([4, 1]))
          .dataSync()
          .slice(),
      ),
    );
    // channel 0: (x−1)/2·2 ; channel 1: (x−2)/1·1 + 1
    expect(Array.from(y)).toEqual([0, 1, 2, 3]);
  });

  it('running statistics follow the Keras EMA with unbiased variance', async () => {
    const r = await onBackend('wasm', () =>
      tf.tidy(() => {
        const u = updateRunningStats(tf.tensor1d([0]), tf.tensor1d([1]), tf.tensor1d([2]), tf.tensor1d([3]), 4, 0.9);
        return [u.mean.dataSync()[0]!, u.variance.dataSync()[0]!];
      }),
    );
    expect(r[0]).toBeCloseTo(0.2, 6);
    expect(r[1]).toBeCloseTo(0.9 + 0.1 * 4, 6);
  });

  describe('fused WebAssembly kernel against the plain tfjs-op path', () => {
    /** y, mean, variance and the gradients w.r.t. x, gamma, beta of Σ y·d, as plain arrays. */
    const run = (xv: Float32Array, shape: number[], g: Float32Array, b: Float32Array, d: Float32Array) =>
      tf.tidy(() => {
        const r = batchNormTrain(tf.tensor(xv, shape), { gamma: tf.tensor1d(g), beta: tf.tensor1d(b), epsilon: 1e-3 });
        const f = (x: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(batchNormTrain(x, { gamma: gg as tf.Tensor1D, beta: bb as tf.Tensor1D, epsilon: 1e-3 }).y, tf.tensor(d, shape)));
        const gs = tf.grads(f)([tf.tensor(xv, shape), tf.tensor1d(g), tf.tensor1d(b)]);
        return [r.y, r.mean, r.variance, ...gs].map((t) => t.dataSync().slice() as Float32Array);
      });

    for (const [label, shape] of [
      ['odd channel count', [3, 5, 7, 13]],
      ['six channels', [5, 5, 5, 6]],
      ['a long column (100,352 rows, offset mean)', [128, 28, 28, 4]],
    ] as const) {
      it(`forward and gradients agree within 1e-5 relative: ${label}`, async () => {
        await onBackend('wasm', () => undefined);
        expect(kernels()).not.toBeNull();
        const n = shape.reduce((a, b) => a * b, 1);
        const c = shape[3];
        const r2 = new Rng(11);
        const x = new Float32Array(n).map(() => r2.normal() * 3 + 5);
        const g = new Float32Array(c).map(() => 0.5 + r2.float());
        const b = new Float32Array(c).map(() => r2.normal());
        const d = new Float32Array(n).map(() => r2.normal());
        const fused = run(x, [...shape], g, b, d);
        const prev = setKernelsEnabled(false);
        const plain = run(x, [...shape], g, b, d);
        setKernelsEnabled(prev);
        const names = ['y', 'mean', 'variance', 'dx', 'dgamma', 'dbeta'];
        const ref = f64Everything(x, c, g, b, d, 1e-3);
        fused.forEach((f, i) => {
          // the fused kernel is within 1e-5 of float64, and no further from it than the plain path (its float32 matrix-vector sums drift on long columns)
          const e = relErr(f, ref[i]!);
          console.log(label, names[i], e, relErr(plain[i]!, ref[i]!), f.slice(0, 3), plain[i]!.slice(0, 3), ref[i]!.slice(0, 3));
          expect(e, names[i]).toBeLessThan(1e-5);
          expect(e, names[i]).toBeLessThanOrEqual(Math.max(relErr(plain[i]!, ref[i]!), 2e-6));
          expect(relErr(f, plain[i]!), names[i]).toBeLessThan(3e-5);
        });
      });
    }

    it('leaks no tensors over 50 training-mode steps with gradients', async () => {
      await onBackend('wasm', () => undefined);
      const x = tf.randomNormal([8, 6, 6, 5], 0, 1, 'float32', 3);
      const g = tf.ones([5]) as tf.Tensor1D;
      const b = tf.zeros([5]) as tf.Tensor1D;
      const step = () => tf.tidy(() => tf.grads((xx: tf.Tensor, gg: tf.Tensor) => tf.sum(tf.square(batchNormTrain(xx, { gamma: gg as tf.Tensor1D, beta: b, epsilon: 1e-3 }).y)))([x, g]));
      tf.dispose(step());
      const before = tf.memory().numTensors;
      for (let i = 0; i < 50; i++) tf.dispose(step());
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, g, b]);
    });
  });

  describe('synchronised batch norm (setBatchNormSync)', () => {
    // Two replicas holding the same half batch: a reducer that doubles every sum gives each
    // replica exactly the statistics of the batch [half; half] — the plain batch norm of that
    // batch is the reference (rows of dx, and γ/β gradients halved: each replica's share).
    const doubling = { calls: 0, allReduce(v: Float64Array) { this.calls++; for (let i = 0; i < v.length; i++) v[i]! *= 2; } };
    const half = [4, 6, 6, 13];
    const full = [8, 6, 6, 13];
    const n = half.reduce((a, b) => a * b, 1);
    const r3 = new Rng(5);
    const x = new Float32Array(n).map(() => r3.normal() * 2 + 3);
    const g = new Float32Array(13).map(() => 0.5 + r3.float());
    const b = new Float32Array(13).map(() => r3.normal());
    const d = new Float32Array(n).map(() => r3.normal());
    const twice = (a: Float32Array) => { const o = new Float32Array(a.length * 2); o.set(a); o.set(a, a.length); return o; };
    const run = (xv: Float32Array, dv: Float32Array, shape: number[]) =>
      tf.tidy(() => {
        const r = batchNormTrain(tf.tensor(xv, shape), { gamma: tf.tensor1d(g), beta: tf.tensor1d(b), epsilon: 1e-3 });
        const f = (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(batchNormTrain(xx, { gamma: gg as tf.Tensor1D, beta: bb as tf.Tensor1D, epsilon: 1e-3 }).y, tf.tensor(dv, shape)));
        const gs = tf.grads(f)([tf.tensor(xv, shape), tf.tensor1d(g), tf.tensor1d(b)]);
        return { count: r.count, out: [r.y, r.mean, r.variance, ...gs].map((t) => t.dataSync().slice() as Float32Array) };
      });

    for (const [label, backend, useKernels] of [['wasm, kernels', 'wasm', true], ['wasm, tfjs ops', 'wasm', false], ['cpu', 'cpu', false]] as const) {
      it(`equals plain batch norm over the whole batch: ${label}`, async () => {
        await onBackend(backend, () => undefined);
        const prev = setKernelsEnabled(useKernels);
        const ref = run(twice(x), twice(d), full);
        doubling.calls = 0;
        setBatchNormSync(doubling);
        let synced: ReturnType<typeof run>;
        try {
          synced = run(x, d, half);
        } finally {
          setBatchNormSync(null);
          setKernelsEnabled(prev);
        }
        // forward: 2 reductions (sums, squared deviations) per call, backward: 1; run() calls forward twice
        expect(doubling.calls).toBe(5);
        expect(synced.count).toBe(2 * n / 13);
        expect(ref.count).toBe(2 * n / 13);
        const [y, mean, variance, dx, dg, db] = synced.out;
        const [ry, rmean, rvar, rdx, rdg, rdb] = ref.out;
        expect(relErr(y!, ry!.subarray(0, n))).toBeLessThan(1e-6);
        expect(relErr(mean!, rmean!)).toBeLessThan(1e-6);
        expect(relErr(variance!, rvar!)).toBeLessThan(1e-6);
        expect(relErr(dx!, rdx!.subarray(0, n))).toBeLessThan(1e-5);
        expect(relErr(dg!.map((v) => v * 2), rdg!)).toBeLessThan(1e-5);
        expect(relErr(db!.map((v) => v * 2), rdb!)).toBeLessThan(1e-5);
      });
    }

    it('leaks no tensors over 30 synchronised steps with gradients', async () => {
      await onBackend('wasm', () => undefined);
      setBatchNormSync(doubling);
      try {
        const xs = tf.tensor(x, half);
        const gt = tf.tensor1d(g);
        const bt = tf.tensor1d(b);
        const step = () => tf.tidy(() => tf.grads((xx: tf.Tensor, gg: tf.Tensor) => tf.sum(tf.square(batchNormTrain(xx, { gamma: gg as tf.Tensor1D, beta: bt as tf.Tensor1D, epsilon: 1e-3 }).y)))([xs, gt]));
        tf.dispose(step());
        const before = tf.memory().numTensors;
        for (let i = 0; i < 30; i++) tf.dispose(step());
        expect(tf.memory().numTensors).toBe(before);
        tf.dispose([xs, gt, bt]);
      } finally {
        setBatchNormSync(null);
      }
    });
  });
});
