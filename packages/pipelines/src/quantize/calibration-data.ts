import * as tf from '@tensorflow/tfjs-core';
import { copyRows, LowbitError } from '@lowbit/core';
import { type LabeledSet, type Preprocess, preprocessInto, UNIT } from '@lowbit/data';

/**
 * Calibration images as a user has them: one `[N, H, W, C]` float tensor (already preprocessed as
 * the model expects), batches of them (an iterable or async iterable of tensors, e.g. a
 * `tf.data.Dataset`'s iterator or a generator), or a labelled image set from `@lowbit/data`
 * (uint8 images, with the preprocessing that maps bytes to the model's input range).
 */
export type CalibrationInput =
  | tf.Tensor
  | Iterable<tf.Tensor>
  | AsyncIterable<tf.Tensor>
  | { set: LabeledSet; preprocess?: Preprocess };

/**
 * Calibration images held as float32 rows in JS memory (outside the wasm heap), in a
 * SharedArrayBuffer where the platform allows it so that data-parallel replicas read the same
 * rows without a copy. `batch(indices)` builds one batch tensor the caller disposes.
 */
export interface CalibrationRows {
  /** `[H, W, C]` of one image. */
  imageShape: [number, number, number];
  size: number;
  data: Float32Array;
  batch(indices: Int32Array): tf.Tensor4D;
  /** Consecutive batches of at most `batchSize` images, in order (statistics passes). */
  batches(batchSize: number): Generator<tf.Tensor4D>;
}

/** `n` floats, in a SharedArrayBuffer where the platform has one (Node; a cross-origin isolated page). */
export function sharedFloats(n: number): Float32Array {
  return typeof SharedArrayBuffer === 'function' ? new Float32Array(new SharedArrayBuffer(n * 4)) : new Float32Array(n);
}

/** Wraps float rows (e.g. received by a replica) as {@link CalibrationRows}. */
export function calibrationRows(data: Float32Array, imageShape: [number, number, number]): CalibrationRows {
  const per = imageShape[0] * imageShape[1] * imageShape[2];
  const size = data.length / per;
  const batch = (indices: Int32Array): tf.Tensor4D => copyRows(data, imageShape, indices, (j) => new LowbitError('E_CALIB', `calibration index ${j} is outside 0..${size - 1}`)) as tf.Tensor4D;
  return {
    imageShape,
    size,
    data,
    batch,
    *batches(batchSize) {
      for (let from = 0; from < size; from += batchSize) {
        const n = Math.min(batchSize, size - from);
        yield batch(Int32Array.from({ length: n }, (_, i) => from + i));
      }
    },
  };
}

function isTensor(x: unknown): x is tf.Tensor {
  return x instanceof tf.Tensor || (typeof x === 'object' && x !== null && 'dataId' in x && 'shape' in x && 'dtype' in x);
}

function checkShape(shape: number[], expected: number[], what: string): void {
  if (shape.length !== 4 || shape.slice(1).join() !== expected.join()) {
    throw new LowbitError('E_CALIB', `calibration: ${what} has shape [${shape.join(', ')}], the model takes [N, ${expected.join(', ')}]`);
  }
}

/**
 * Reads calibration images into {@link CalibrationRows}: at most `limit` images (all when
 * undefined), each `inputShape` (`[H, W, C]`, the model's). The caller's tensors are only read,
 * never disposed. Errors name what did not fit.
 */
export async function readCalibration(input: CalibrationInput, inputShape: number[], limit?: number): Promise<CalibrationRows> {
  const shape = inputShape as [number, number, number];
  const per = shape[0] * shape[1] * shape[2];
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1)) throw new LowbitError('E_CONFIG', `calibrationSize must be a positive integer, got ${limit}`);
  if (isTensor(input)) {
    checkShape(input.shape, shape, 'the tensor');
    const n = Math.min(input.shape[0]!, limit ?? Number.POSITIVE_INFINITY);
    const data = sharedFloats(n * per);
    const t = tf.tidy(() => tf.cast(n < input.shape[0]! ? tf.slice(input, 0, n) : input, 'float32'));
    data.set((t.dataSync() as Float32Array).subarray(0, n * per));
    t.dispose();
    return finish(calibrationRows(data, shape));
  }
  if (typeof input === 'object' && input !== null && 'set' in input) {
    const { set } = input;
    if (set.imageShape.join() !== shape.join()) throw new LowbitError('E_CALIB', `calibration: images of ${set.name} are ${set.imageShape.join('×')}, the model takes ${shape.join('×')}`);
    const n = Math.min(set.size, limit ?? Number.POSITIVE_INFINITY);
    const data = sharedFloats(n * per);
    const img = new Float32Array(per);
    for (let i = 0; i < n; i++) {
      preprocessInto(set.images.subarray(i * per, (i + 1) * per), img, shape[2], input.preprocess ?? UNIT);
      data.set(img, i * per);
    }
    return finish(calibrationRows(data, shape));
  }
  if (typeof input === 'object' && input !== null && (Symbol.asyncIterator in input || Symbol.iterator in input)) {
    const parts: Float32Array[] = [];
    let n = 0;
    const want = limit ?? Number.POSITIVE_INFINITY;
    let index = 0;
    for await (const t of input as AsyncIterable<tf.Tensor>) {
      if (!isTensor(t)) throw new LowbitError('E_CALIB', `calibration: batch ${index} is not a tensor (got ${typeof t})`);
      checkShape(t.shape, shape, `batch ${index}`);
      const take = Math.min(t.shape[0]!, want - n);
      const f = tf.tidy(() => tf.cast(t, 'float32'));
      parts.push((f.dataSync() as Float32Array).slice(0, take * per));
      f.dispose();
      n += take;
      index++;
      if (n >= want) break;
    }
    const data = sharedFloats(n * per);
    let off = 0;
    for (const p of parts) {
      data.set(p, off);
      off += p.length;
    }
    return finish(calibrationRows(data, shape));
  }
  throw new LowbitError('E_CALIB', 'calibration must be a tensor [N, H, W, C], an iterable or async iterable of such batches, or { set: LabeledSet, preprocess }');
}

function finish(rows: CalibrationRows): CalibrationRows {
  if (rows.size < 1) throw new LowbitError('E_CALIB', 'calibration: no images (the data is empty)');
  for (let i = 0; i < rows.data.length; i++) {
    if (!Number.isFinite(rows.data[i]!)) throw new LowbitError('E_CALIB', `calibration: image ${Math.floor(i / (rows.data.length / rows.size))} has a non-finite value`);
  }
  return rows;
}
