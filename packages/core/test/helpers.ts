import type * as tf from '@tensorflow/tfjs-core';
import { initBackend, type BackendName } from '../src/index.js';

/** Runs `fn` with `backend` selected; returns plain arrays so results can cross backends. */
export async function onBackend<T>(backend: BackendName, fn: () => T | Promise<T>): Promise<T> {
  await initBackend({ backend, fallback: false });
  return fn();
}

/** max |a − b| / max(max |b|, tiny): relative error in the max norm. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch ${a.length} vs ${b.length}`);
  let num = 0;
  let den = 1e-12;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / den;
}

export function data(t: tf.Tensor): Float32Array {
  return t.dataSync() as Float32Array;
}
