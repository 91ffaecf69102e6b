import * as tf from '@tensorflow/tfjs-core';
import { LowbitError, type Rng } from '@lowbit/core';
import { type AugmentOptions, augmentImage } from './augment.js';
import type { LabeledSet } from './labeled-set.js';
import { type Preprocess, preprocessInto, UNIT } from './preprocess.js';

export interface Batch {
  /** `[B, H, W, C]` float32 inputs. */
  x: tf.Tensor4D;
  /** `[B]` int32 labels. */
  y: tf.Tensor1D;
  indices: Int32Array;
}

export interface BatchOptions {
  batchSize: number;
  /** Shuffle with this generator (a seeded permutation per epoch); omit for file order. */
  shuffle?: Rng;
  /** Drop a last incomplete batch (default false). */
  dropLast?: boolean;
  preprocess?: Preprocess;
  /** Augment each image with this generator. */
  augment?: AugmentOptions & { rng: Rng };
}

/** Number of batches an epoch yields. */
export function batchCount(size: number, batchSize: number, dropLast = false): number {
  return dropLast ? Math.floor(size / batchSize) : Math.ceil(size / batchSize);
}

/** The example order of one epoch: a seeded permutation, or 0..N-1. */
export function epochOrder(size: number, shuffle?: Rng): Int32Array {
  if (shuffle) return shuffle.permutation(size);
  return Int32Array.from({ length: size }, (_, i) => i);
}

/** Builds one batch (tensors the caller disposes) from the examples at `indices`. */
export function makeBatch(set: LabeledSet, indices: Int32Array, o: Pick<BatchOptions, 'preprocess' | 'augment'> = {}): Batch {
  const [h, w, c] = set.imageShape;
  const per = h * w * c;
  const x = new Float32Array(indices.length * per);
  const y = new Int32Array(indices.length);
  const img = new Float32Array(per);
  const tmp = new Float32Array(per);
  const pre = o.preprocess ?? UNIT;
  for (let i = 0; i < indices.length; i++) {
    const j = indices[i]!;
    preprocessInto(set.images.subarray(j * per, (j + 1) * per), img, c, pre);
    if (o.augment) augmentImage(img, tmp, h, w, c, o.augment, o.augment.rng);
    x.set(img, i * per);
    y[i] = set.labels[j]!;
  }
  return { x: tf.tensor4d(x, [indices.length, h, w, c]), y: tf.tensor1d(y, 'int32'), indices };
}

/**
 * Iterates over one epoch in batches. Only the current batch exists as tensors; the caller
 * disposes each batch's `x` and `y`.
 */
export function* batches(set: LabeledSet, o: BatchOptions): Generator<Batch> {
  if (!(Number.isInteger(o.batchSize) && o.batchSize > 0)) throw new LowbitError('E_ARG', `batchSize must be a positive integer, got ${o.batchSize}`);
  const order = epochOrder(set.size, o.shuffle);
  const n = batchCount(set.size, o.batchSize, o.dropLast);
  for (let b = 0; b < n; b++) {
    const idx = order.subarray(b * o.batchSize, Math.min(set.size, (b + 1) * o.batchSize));
    yield makeBatch(set, idx, o);
  }
}

/** Indices of a calibration sample: the first `n`, or `n` drawn without replacement by a seeded generator. */
export function calibrationIndices(size: number, n: number, rng?: Rng): Int32Array {
  if (!(Number.isInteger(n) && n > 0)) throw new LowbitError('E_ARG', `calibration size must be a positive integer, got ${n}`);
  if (n > size) throw new LowbitError('E_ARG', `calibration size ${n} is larger than the data set (${size} examples)`);
  if (!rng) return Int32Array.from({ length: n }, (_, i) => i);
  return rng.permutation(size).slice(0, n).sort();
}
