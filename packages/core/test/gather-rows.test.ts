import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { gatherRows, LowbitError, Rng, setKernelsEnabled } from '../src/index.js';
import { onBackend } from './helpers.js';

describe('gatherRows', () => {
  for (const backend of ['wasm', 'cpu'] as const) {
    it(`equals tf.gather exactly, with repeated and unordered indices (${backend})`, async () => {
      await onBackend(backend, () => undefined);
      const t = new Rng(3).normalTensor([9, 4, 3, 2]);
      const idx = Int32Array.from([8, 0, 3, 3, 5]);
      const got = gatherRows(t, idx);
      const want = tf.gather(t, tf.tensor1d(idx, 'int32'));
      expect(got.shape).toEqual([5, 4, 3, 2]);
      expect(Array.from(got.dataSync())).toEqual(Array.from(want.dataSync()));
      tf.dispose([t, got, want]);
    });
  }

  it('takes the tf.gather path with the kernels off, and rejects indices outside the first axis', async () => {
    await onBackend('wasm', () => undefined);
    const t = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]);
    const prev = setKernelsEnabled(false);
    expect(Array.from(gatherRows(t, Int32Array.from([2, 0])).dataSync())).toEqual([5, 6, 1, 2]);
    setKernelsEnabled(prev);
    expect(() => gatherRows(t, Int32Array.from([3]))).toThrow(LowbitError);
    expect(() => gatherRows(t, Int32Array.from([-1]))).toThrow(/outside \[0, 3\)/);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 100; i++) gatherRows(t, Int32Array.from([1, 2])).dispose();
    expect(tf.memory().numTensors).toBe(before);
    t.dispose();
  });
});
