import type { Rng } from '@lowbit/core';

/** Training-time augmentation: random crop after zero padding, random horizontal flip. */
export interface AugmentOptions {
  /** Zero padding on each side before a random crop back to the original size (0 = off). */
  cropPadding: number;
  /** Mirror horizontally with probability 1/2. */
  flip: boolean;
}

export const NO_AUGMENT: AugmentOptions = { cropPadding: 0, flip: false };

/**
 * Augments one image in place (`img` is `[H, W, C]` floats, `tmp` a scratch buffer of the same
 * size). Draws, in order: the crop offsets (two integers, only when padding > 0) and the flip
 * (one float, only when flip is on), so a seeded run is reproducible.
 */
export function augmentImage(img: Float32Array, tmp: Float32Array, h: number, w: number, c: number, o: AugmentOptions, rng: Rng): void {
  const p = o.cropPadding;
  const dy = p > 0 ? rng.int(2 * p + 1) - p : 0;
  const dx = p > 0 ? rng.int(2 * p + 1) - p : 0;
  const flip = o.flip ? rng.float() < 0.5 : false;
  if (dy === 0 && dx === 0 && !flip) return;
  tmp.set(img);
  for (let i = 0; i < h; i++) {
    const si = i + dy;
    for (let j = 0; j < w; j++) {
      const jj = flip ? w - 1 - j : j;
      const sj = jj + dx;
      const d = (i * w + j) * c;
      if (si < 0 || si >= h || sj < 0 || sj >= w) {
        for (let k = 0; k < c; k++) img[d + k] = 0;
      } else {
        const s = (si * w + sj) * c;
        for (let k = 0; k < c; k++) img[d + k] = tmp[s + k]!;
      }
    }
  }
}
