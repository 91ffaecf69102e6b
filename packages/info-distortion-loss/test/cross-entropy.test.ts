import * as tf from '@tensorflow/tfjs-core';
import { initBackend, maxRelError, Rng } from '@lowbit/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { crossEntropy } from '../src/index.js';
import { expectLowbitError } from './helpers.js';
import { ce64, logSoftmax64 } from './reference.js';

beforeAll(() => initBackend({ backend: 'wasm', fallback: false }));

describe('crossEntropy', () => {
  it('matches a float64 reference, with int32 and float32 labels alike', () => {
    tf.tidy(() => {
      const rng = new Rng(11);
      const z = rng.uniformArray(6 * 10, -4, 4);
      const labels = [3, 0, 9, 9, 5, 1];
      const ref = ce64(z, labels, 6, 10);
      const logits = tf.tensor2d(z, [6, 10]);
      const vi = crossEntropy(logits, tf.tensor1d(labels, 'int32'));
      const vf = crossEntropy(logits, tf.tensor1d(labels, 'float32'));
      expect(vi.shape).toEqual([]);
      expect(maxRelError(vi.dataSync(), [ref])).toBeLessThan(1e-5);
      expect(vf.dataSync()[0]).toBe(vi.dataSync()[0]);
    });
  });

  it('gradient is (softmax − onehot) / batch', () => {
    tf.tidy(() => {
      const rng = new Rng(12);
      const z = rng.uniformArray(4 * 5, -3, 3);
      const labels = [4, 2, 0, 2];
      const g = tf.grad((l: tf.Tensor) => crossEntropy(l, tf.tensor1d(labels, 'int32')))(tf.tensor2d(z, [4, 5]));
      const lp = logSoftmax64(z, 4, 5);
      const expected = Array.from(lp, (v, i) => (Math.exp(v) - (labels[Math.floor(i / 5)] === i % 5 ? 1 : 0)) / 4);
      expect(maxRelError(g.dataSync(), expected)).toBeLessThan(1e-5);
    });
  });

  it('is numerically stable for huge logits', () => {
    tf.tidy(() => {
      const v = crossEntropy(tf.tensor2d([[1e4, 0, -1e4]]), tf.tensor1d([1], 'int32')).dataSync()[0]!;
      expect(v).toBeCloseTo(1e4, 0);
      expect(crossEntropy(tf.tensor2d([[1e4, 0]]), tf.tensor1d([0], 'int32')).dataSync()[0]).toBeCloseTo(0, 12);
    });
  });

  it('accepts [..., classes] logits with matching label shapes', () => {
    tf.tidy(() => {
      const rng = new Rng(13);
      const z = rng.uniformArray(2 * 3 * 4, -2, 2);
      const labels = [0, 1, 2, 3, 3, 0];
      const v = crossEntropy(tf.tensor3d(z, [2, 3, 4]), tf.tensor2d(labels, [2, 3], 'int32'));
      expect(maxRelError(v.dataSync(), [ce64(z, labels, 6, 4)])).toBeLessThan(1e-5);
    });
  });

  it('rejects mismatched label shapes and invalid labels', () => {
    tf.tidy(() => {
      const logits = tf.zeros([3, 4]);
      expectLowbitError(
        () => crossEntropy(logits, tf.tensor1d([0, 1], 'int32')),
        'E_SHAPE',
        /labels must have shape \[3\] \(one class index per row of logits \[3, 4\]\), got \[2\]/,
      );
      expectLowbitError(() => crossEntropy(logits, tf.tensor1d([0, 4, 1], 'int32')), 'E_ARG', /label 1 is 4, expected an integer class index in \[0, 4\)/);
      expectLowbitError(() => crossEntropy(logits, tf.tensor1d([0, -1, 1], 'int32')), 'E_ARG', /label 1 is -1/);
      expectLowbitError(() => crossEntropy(logits, tf.tensor1d([0, 1, 2.5])), 'E_ARG', /label 2 is 2.5/);
      expectLowbitError(() => crossEntropy(logits, tf.tensor1d([true, false, true], 'bool')), 'E_ARG', /labels must be int32 or float32 class indices, got bool/);
      expectLowbitError(() => crossEntropy(tf.zeros([3, 4], 'int32'), tf.tensor1d([0, 1, 2], 'int32')), 'E_ARG', /logits must be float32, got int32/);
      expectLowbitError(() => crossEntropy(tf.scalar(1), tf.scalar(0, 'int32')), 'E_SHAPE', /rank ≥ 1/);
    });
  });
});
