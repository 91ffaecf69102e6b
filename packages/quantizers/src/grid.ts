import { LowbitError } from '@lowbit/core';

/** An integer grid: `bits` wide, signed `[−2^(b−1), 2^(b−1)−1]` or unsigned `[0, 2^b−1]`. */
export interface Grid {
  bits: number;
  signed: boolean;
  qmin: number;
  qmax: number;
}

export const MIN_BITS = 2;
export const MAX_BITS = 8;

/** The grid for `bits` (2–8); a clear error otherwise. */
export function grid(bits: number, signed: boolean): Grid {
  if (!Number.isInteger(bits) || bits < MIN_BITS || bits > MAX_BITS) {
    throw new LowbitError('E_BITS', `bits must be an integer from ${MIN_BITS} to ${MAX_BITS}, got ${bits}`);
  }
  return signed ? { bits, signed, qmin: -(2 ** (bits - 1)), qmax: 2 ** (bits - 1) - 1 } : { bits, signed, qmin: 0, qmax: 2 ** bits - 1 };
}

/** Normalises a channel axis (negative counts from the end); a clear error when out of range. */
export function channelAxis(axis: number, rank: number, what = 'axis'): number {
  const a = axis < 0 ? rank + axis : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new LowbitError('E_AXIS', `${what} ${axis} is out of range for a tensor of rank ${rank}`);
  return a;
}

/** The shape that broadcasts a per-channel vector along `axis` of a tensor of rank `rank`. */
export function broadcastShape(axis: number, rank: number, channels: number): number[] {
  const s = new Array<number>(rank).fill(1);
  s[axis] = channels;
  return s;
}
