/** The `lowbitPacked` section of a packed model.json. */
export interface PackedManifest {
  version: 1;
  /** The binary file with every weight, in order. */
  path: string;
  weights: PackedWeight[];
}

/**
 * One weight of the binary file; weights follow each other in manifest order. With `bits`:
 * `bits`-wide codes (`code + 2^(bits−1)`, bit-packed little-endian) followed by one float32 scale
 * per channel along `axis` (one scale when `axis` is null); value = `scale · code`. Without
 * `bits`: raw float32 values.
 */
export type PackedWeight = { name: string; shape: number[]; bits?: number; axis?: number | null };

/** Bytes a weight takes in the binary file. */
export function packedBytes(w: PackedWeight): number {
  const n = w.shape.reduce((a, b) => a * b, 1);
  if (w.bits === undefined) return 4 * n;
  const channels = w.axis == null ? 1 : w.shape[w.axis]!;
  return Math.ceil((n * w.bits) / 8) + 4 * channels;
}

export const PACKED_FORMAT = 'lowbit-packed';
