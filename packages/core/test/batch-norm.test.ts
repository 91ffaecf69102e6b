import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { batchNormInfer, batchNormTrain, Rng, updateRunningStats } from '../src/index.js';
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
});
