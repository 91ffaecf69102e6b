import * as tf from '@tensorflow/tfjs-core';
import { initBackend, Rng } from '@lowbit/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { augmentImage, batchCount, batches, calibrationIndices, makeBatch, makeLabeledSet } from '../src/index.node.js';

beforeAll(() => initBackend({ backend: 'wasm', fallback: false }));

function toySet(n: number) {
  const images = Uint8Array.from({ length: n * 4 * 4 }, (_, i) => i % 251);
  const labels = Uint8Array.from({ length: n }, (_, i) => i % 10);
  return makeLabeledSet('toy', images, [4, 4, 1], labels);
}

describe('batching', () => {
  it('visits every example once per epoch, in a seeded order', () => {
    const set = toySet(23);
    const seen: number[] = [];
    for (const b of batches(set, { batchSize: 5, shuffle: new Rng(1) })) {
      seen.push(...b.indices);
      expect(b.x.shape.slice(1)).toEqual([4, 4, 1]);
      b.x.dispose();
      b.y.dispose();
    }
    expect(seen.slice().sort((a, b) => a - b)).toEqual(Array.from({ length: 23 }, (_, i) => i));
    const again: number[] = [];
    for (const b of batches(set, { batchSize: 5, shuffle: new Rng(1) })) {
      again.push(...b.indices);
      b.x.dispose();
      b.y.dispose();
    }
    expect(again).toEqual(seen);
    expect(batchCount(23, 5)).toBe(5);
    expect(batchCount(23, 5, true)).toBe(4);
  });

  it('scales bytes to [0, 1] and carries labels', () => {
    const set = toySet(3);
    const b = makeBatch(set, Int32Array.from([2]));
    expect(b.x.dataSync()[1]).toBeCloseTo(set.images[2 * 16 + 1]! / 255, 7);
    expect(Array.from(b.y.dataSync())).toEqual([2]);
    tf.dispose([b.x, b.y]);
  });

  it('never holds more than the current batch as tensors', () => {
    const set = toySet(50);
    const before = tf.memory().numTensors;
    for (const b of batches(set, { batchSize: 8 })) {
      expect(tf.memory().numTensors).toBe(before + 2);
      tf.dispose([b.x, b.y]);
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('augmentation', () => {
  const h = 3;
  const w = 4;
  const img = () => Float32Array.from({ length: h * w }, (_, i) => i + 1);

  it('a flip mirrors each row', () => {
    // find a seed whose first draw flips
    const a = img();
    let seed = 0;
    while (new Rng(seed).float() >= 0.5) seed++;
    augmentImage(a, new Float32Array(a.length), h, w, 1, { cropPadding: 0, flip: true }, new Rng(seed));
    expect(Array.from(a)).toEqual([4, 3, 2, 1, 8, 7, 6, 5, 12, 11, 10, 9]);
  });

  it('a padded random crop shifts the image and fills with zeros', () => {
    for (let seed = 0; seed < 20; seed++) {
      const rng = new Rng(seed);
      const probe = new Rng(seed);
      const dy = probe.int(3) - 1;
      const dx = probe.int(3) - 1;
      const a = img();
      augmentImage(a, new Float32Array(a.length), h, w, 1, { cropPadding: 1, flip: false }, rng);
      for (let i = 0; i < h; i++)
        for (let j = 0; j < w; j++) {
          const si = i + dy;
          const sj = j + dx;
          const expected = si < 0 || si >= h || sj < 0 || sj >= w ? 0 : si * w + sj + 1;
          expect(a[i * w + j]).toBe(expected);
        }
    }
  });
});

describe('calibration sampling', () => {
  it('takes the first N or N distinct seeded indices', () => {
    expect(Array.from(calibrationIndices(10, 3))).toEqual([0, 1, 2]);
    const r = Array.from(calibrationIndices(100, 20, new Rng(3)));
    expect(new Set(r).size).toBe(20);
    expect(r).toEqual(Array.from(calibrationIndices(100, 20, new Rng(3))));
    expect(() => calibrationIndices(10, 11)).toThrow(/larger than the data set \(10 examples\)/);
    expect(() => calibrationIndices(10, 0)).toThrow(/positive integer/);
  });
});
