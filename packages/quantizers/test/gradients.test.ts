import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { fakeQuantize, grid, roundSte } from '../src/index.js';
import { BACKENDS, use } from './helpers.js';

for (const backend of BACKENDS) {
  describe(`quantizer gradients (${backend})`, () => {
    it('STE passes the gradient inside the clipping range and zero outside', async () => {
      await use(backend);
      const g = grid(3, true); // [-4, 3]
      const x = [-10, -4.4, -1.2, 0.3, 2.9, 3.4, 3.6, 9];
      const dy = [1, 2, 3, 4, 5, 6, 7, 8];
      const dx = tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(fakeQuantize(t, tf.scalar(1), tf.scalar(0), { grid: g }), tf.tensor1d(dy))))(tf.tensor1d(x)).dataSync());
      // inside ⇔ qmin ≤ x/s ≤ qmax
      expect(Array.from(dx)).toEqual([0, 0, 3, 4, 5, 0, 0, 0]);
      const r = tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(roundSte(t), 3)))(tf.tensor1d([0.4, 2.6])).dataSync());
      expect(Array.from(r)).toEqual([3, 3]);
    });

    it("the step gradient matches LSQ's formula (per-tensor, with gradient scale)", async () => {
      await use(backend);
      const g = grid(4, true); // [-8, 7]
      const s = 0.5;
      const x = [-5, -3.9, -0.26, 0.1, 0.74, 2.2, 3.49, 3.8];
      const dy = [0.5, -1, 2, 1, -0.5, 1.5, 1, -2];
      const scale = 0.25;
      const ds = tf.tidy(() =>
        tf.grad((st: tf.Tensor) => tf.sum(tf.mul(fakeQuantize(tf.tensor1d(x), st, tf.scalar(0), { grid: g, gradScale: scale }), tf.tensor1d(dy))))(tf.scalar(s)).dataSync()[0]!,
      );
      // LSQ: ∂ŷ/∂s = −x/s + ⌊x/s⌉ inside, qmin below, qmax above
      let expected = 0;
      x.forEach((xi, i) => {
        const v = xi / s;
        const d = v <= g.qmin ? g.qmin : v >= g.qmax ? g.qmax : Math.round(v) - v;
        expected += dy[i]! * d;
      });
      expect(ds).toBeCloseTo(expected * scale, 5);
    });

    it('per-channel step gradients are reduced per channel; zero points get none', async () => {
      await use(backend);
      const g = grid(2, true); // [-2, 1]
      const x = tf.tensor2d([0.3, -2.5, 1.4, 0.9], [2, 2]);
      const s = tf.tensor2d([[0.5, 1]]);
      const z = tf.tensor2d([[0, 0]]);
      const [, gs, gz] = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(fakeQuantize(a, b, c, { grid: g })))([x, s, z]);
      // channel 0: x/s = 0.6 → ⌊⌉=1, d=0.4; 2.8 → qmax 1. channel 1: −2.5 → qmin −2; 0.9 → 1−0.9 = 0.1
      const v = gs!.dataSync();
      expect(v[0]).toBeCloseTo(0.4 + 1, 5);
      expect(v[1]).toBeCloseTo(-2 + 0.1, 5);
      expect(Array.from(gz!.dataSync())).toEqual([0, 0]);
      tf.dispose([x, s, z]);
    });
  });
}
