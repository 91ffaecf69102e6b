import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bundledCalibrationSet, bundledTestSet, DEFAULT_FASHION_MNIST_DIR, loadFashionMnist } from '../src/index.node.js';

describe('bundled Fashion-MNIST subsets', () => {
  it('the test set has 10,000 28×28 images, 1,000 per class', () => {
    const t = bundledTestSet();
    expect(t.size).toBe(10_000);
    expect(t.imageShape).toEqual([28, 28, 1]);
    const counts = new Array(10).fill(0);
    for (const l of t.labels) counts[l]++;
    expect(counts).toEqual(new Array(10).fill(1000));
  });

  it('the calibration set has 1,024 images', () => {
    const c = bundledCalibrationSet();
    expect(c.size).toBe(1024);
    expect(new Set(c.labels).size).toBe(10);
  });

  it.skipIf(!existsSync(DEFAULT_FASHION_MNIST_DIR))('the calibration set is exactly training images 0..1023 of the real data', () => {
    const train = loadFashionMnist('train');
    const c = bundledCalibrationSet();
    expect(train.size).toBe(60_000);
    expect(Buffer.compare(Buffer.from(c.images), Buffer.from(train.images.subarray(0, 1024 * 784)))).toBe(0);
    expect(Array.from(c.labels)).toEqual(Array.from(train.labels.subarray(0, 1024)));
  });
});
