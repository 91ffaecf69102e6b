import type * as tf from '@tensorflow/tfjs-core';
import { initBackend, type BackendName } from '../src/index.js';

/** Runs `fn` with `backend` selected; returns plain arrays so results can cross backends. */
export async function onBackend<T>(backend: BackendName, fn: () => T | Promise<T>): Promise<T> {
  await initBackend({ backend, fallback: false });
  return fn();
}

/** Max-norm relative error (re-exported for the tests). */
export { maxRelError as relErr } from '../src/index.js';

export function data(t: tf.Tensor): Float32Array {
  return t.dataSync() as Float32Array;
}
