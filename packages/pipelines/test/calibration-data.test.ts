import * as tf from '@tensorflow/tfjs-core';
import { initBackend, Rng } from '@lowbit/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { readCalibration } from '../src/index.js';

beforeAll(() => initBackend({ backend: 'wasm' }));

describe('readCalibration', () => {
  // a page that is not cross-origin isolated has no SharedArrayBuffer: the rows are a plain Float32Array of the same images
  it.each([true, false])('holds exactly the given images (SharedArrayBuffer available: %s)', async (shared) => {
    const x = new Rng(1).uniform([5, 4, 3, 2]);
    const saved = globalThis.SharedArrayBuffer;
    if (!shared) (globalThis as { SharedArrayBuffer?: unknown }).SharedArrayBuffer = undefined;
    try {
      const rows = await readCalibration(x, [4, 3, 2]);
      expect(rows.size).toBe(5);
      expect(rows.data.length).toBe(5 * 24);
      expect(rows.data.buffer instanceof saved).toBe(shared);
      expect(Array.from(rows.data)).toEqual(Array.from(x.dataSync()));
      const limited = await readCalibration(x, [4, 3, 2], 3);
      expect([limited.size, limited.data.length]).toEqual([3, 72]);
    } finally {
      globalThis.SharedArrayBuffer = saved;
      tf.dispose(x);
    }
  });
});
