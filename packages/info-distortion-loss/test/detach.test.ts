import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@lowbit/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { detach } from '../src/index.js';

beforeAll(() => initBackend({ backend: 'wasm', fallback: false }));

describe('detach', () => {
  it('is the identity forward (values, shape, dtype), as a new tensor', () => {
    tf.tidy(() => {
      const x = tf.tensor2d([
        [1.5, -2, 3],
        [0, 4.25, -7],
      ]);
      const y = detach(x);
      expect(y).not.toBe(x);
      expect(y.shape).toEqual([2, 3]);
      expect(y.dtype).toBe('float32');
      expect(Array.from(y.dataSync())).toEqual(Array.from(x.dataSync()));
    });
  });

  it('its gradient is zero, where the same expression without detach has a non-zero gradient', () => {
    tf.tidy(() => {
      const x = tf.tensor1d([0.5, -1, 2]);
      const f = (v: tf.Tensor) => tf.sum(tf.square(v));
      const g = tf.grad((v: tf.Tensor) => f(v))(x);
      expect(Array.from(g.dataSync())).toEqual([1, -2, 4]);
      const gd = tf.grad((v: tf.Tensor) => f(detach(v)))(x);
      expect(gd.shape).toEqual([3]);
      expect(Array.from(gd.dataSync())).toEqual([0, 0, 0]);
    });
  });

  it('blocks only its own path: x·detach(x) has gradient x (not 2x)', () => {
    tf.tidy(() => {
      const x = tf.tensor1d([3, -2]);
      const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(v, detach(v))))(x);
      expect(Array.from(g.dataSync())).toEqual([3, -2]);
    });
  });

  it('blocks gradients to variables inside tf.variableGrads', () => {
    tf.tidy(() => {
      const w = tf.variable(tf.tensor1d([1, 2, 3]), true, 'detach_test_w');
      const { value, grads } = tf.variableGrads(() => tf.add(tf.sum(tf.square(w)), tf.sum(tf.mul(detach(w), 10))) as tf.Scalar, [w]);
      expect(value.dataSync()[0]).toBeCloseTo(14 + 60, 4);
      expect(Array.from(grads['detach_test_w']!.dataSync())).toEqual([2, 4, 6]);
      w.dispose();
    });
  });

  it('does not leak tensors', () => {
    const x = tf.tensor1d([1, 2, 3]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) {
      tf.tidy(() => {
        detach(x);
        tf.grad((v: tf.Tensor) => tf.sum(detach(v)))(x);
      });
      detach(x).dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});
