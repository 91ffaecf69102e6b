import type * as tf from '@tensorflow/tfjs-core';
import { LowbitError } from '@lowbit/core';

/** `[2, 3, 4]` — a shape as error messages print it. */
export function shapeStr(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Whether two shapes are equal, dimension by dimension. */
export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Throws `E_ARG` unless `value` is a finite number ≥ 0 (a loss weight). */
export function checkWeight(value: number, what: string): void {
  if (!(Number.isFinite(value) && value >= 0)) throw new LowbitError('E_ARG', `${what} must be a finite number ≥ 0, got ${value}`);
}

/** Throws `E_ARG` unless the temperature is a finite number > 0. */
export function checkTemperature(value: number, what: string): void {
  if (!(Number.isFinite(value) && value > 0)) throw new LowbitError('E_ARG', `${what} temperature must be a finite number > 0, got ${value}`);
}

/** Throws `E_ARG` unless `t` has a floating-point dtype (logits and features are differentiated). */
export function checkFloat(t: tf.Tensor, what: string): void {
  if (t.dtype !== 'float32') throw new LowbitError('E_ARG', `${what} must be float32, got ${t.dtype} (shape ${shapeStr(t.shape)})`);
}
