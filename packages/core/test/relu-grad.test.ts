import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { kernels, Rng, setKernelsEnabled } from '../src/index.js';
import { onBackend } from './helpers.js';

const grad = (op: (x: tf.Tensor) => tf.Tensor, x: Float32Array, d: Float32Array): number[] =>
  tf.tidy(() => Array.from(tf.grad((t: tf.Tensor) => tf.sum(tf.mul(op(t), tf.tensor1d(d))))(tf.tensor1d(x)).dataSync()).map((v) => v + 0));

describe('ReLU / ReLU6 gradients', () => {
  it('the one-pass kernel equals tfjs formula exactly, including x = 0 and x = 6 (50 calls, both V8 tiers)', async () => {
    await onBackend('wasm', () => undefined);
    expect(kernels()).not.toBeNull();
    const rng = new Rng(2);
    for (let it = 0; it < 50; it++) {
      const n = [9, 1000, 4103][it % 3]!;
      const x = Float32Array.from({ length: n }, (_, i) => (i % 7 === 0 ? [0, 6, -0, 6.000001][i % 4]! : rng.normal() * 5 + 2));
      const d = Float32Array.from({ length: n }, () => rng.normal());
      for (const op of [tf.relu, tf.relu6]) {
        const fused = grad(op, x, d);
        const prev = setKernelsEnabled(false);
        const plain = grad(op, x, d);
        setKernelsEnabled(prev);
        expect(fused).toEqual(plain);
      }
    }
    // by hand: ReLU6 passes the gradient on (0, 6]
    expect(grad(tf.relu6, Float32Array.of(-1, 0, 0.5, 6, 7), Float32Array.of(1, 2, 3, 4, 5))).toEqual([0, 0, 3, 4, 0]);
    expect(grad(tf.relu, Float32Array.of(-1, 0, 0.5, 60), Float32Array.of(1, 2, 3, 4))).toEqual([0, 0, 3, 4]);
  });
});
