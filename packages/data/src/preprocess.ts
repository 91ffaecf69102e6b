import { LowbitError } from '@lowbit/core';

/**
 * How bytes become network inputs: `unit` scales to [0, 1]; `meanStd` computes
 * `(x/255 − mean[c]) / std[c]` per channel. Stored in model metadata so that evaluation and
 * export use the same convention as training.
 */
export type Preprocess = { kind: 'unit' } | { kind: 'meanStd'; mean: number[]; std: number[] };

export const UNIT: Preprocess = { kind: 'unit' };

/** Writes preprocessed float values of `src` (uint8, channels last, `c` channels) into `dst`. */
export function preprocessInto(src: Uint8Array, dst: Float32Array, c: number, p: Preprocess, offset = 0): void {
  if (p.kind === 'unit') {
    for (let i = 0; i < src.length; i++) dst[offset + i] = src[i]! / 255;
    return;
  }
  if (p.mean.length !== c || p.std.length !== c) {
    throw new LowbitError('E_PREPROCESS', `meanStd preprocessing has ${p.mean.length} means / ${p.std.length} stds for ${c} channels`);
  }
  for (let i = 0; i < src.length; i++) {
    const ch = i % c;
    dst[offset + i] = (src[i]! / 255 - p.mean[ch]!) / p.std[ch]!;
  }
}
