import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readIdxPair } from './fashion-mnist.js';
import type { LabeledSet } from './labeled-set.js';

/** Directory of the data bundled with this package (works from src/ and dist/). */
export const BUNDLED_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'bundled', 'fashion-mnist');

/** The full Fashion-MNIST test set (10,000 images), bundled. */
export function bundledTestSet(): LabeledSet {
  return readIdxPair(join(BUNDLED_DIR, 't10k-images-idx3-ubyte.gz'), join(BUNDLED_DIR, 't10k-labels-idx1-ubyte.gz'), 'bundled fashion-mnist/test');
}

/** The first 1,024 Fashion-MNIST training images (indices 0..1023), bundled for calibration. */
export function bundledCalibrationSet(): LabeledSet {
  return readIdxPair(join(BUNDLED_DIR, 'calib1024-images-idx3-ubyte.gz'), join(BUNDLED_DIR, 'calib1024-labels-idx1-ubyte.gz'), 'bundled fashion-mnist/calib1024');
}
