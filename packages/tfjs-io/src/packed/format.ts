/**
 * One weight of the binary file; weights follow each other in order. With `bits`: `bits`-wide
 * codes (`code + 2^(bits−1)`, bit-packed little-endian) followed by one float32 scale per channel
 * along `axis` (one scale when `axis` is null or absent); value = `scale · code`. With `zeroPoint`
 * (an asymmetric grid): the stored codes are the unsigned `q` (0..2^bits − 1), the scales are
 * followed by one uint8 zero point `z` per channel, and value = `scale · (q − z)`. Without `bits`:
 * raw float32 values.
 */
export type PackedWeight = { name: string; shape: number[]; bits?: number; axis?: number | null; zeroPoint?: true };

/**
 * What a version-2 file stores per weighted layer (Conv2D, DepthwiseConv2D, Dense,
 * BatchNormalization): `in`, the layer's input channels (features for Dense), and the kernel's grid
 * (`bits`, and `axis` when per-channel; no `bits`: a float32 kernel). Weight names and shapes
 * follow from it and the layer's config (see `packedWeights`).
 */
export type PackedLayer = { in: number; bits?: number; axis?: number | null; zeroPoint?: true };

/** Version 1 of the `lowbitPacked` section: every weight listed with its name and shape. Still loaded. */
export interface PackedManifestV1 {
  version: 1;
  /** The binary file with every weight, in order. */
  path: string;
  weights: PackedWeight[];
}

/**
 * Version 2 (written since 0.2): one small entry per weighted layer, keyed by layer name, in
 * topology order; the topology is stored compacted (see `compactTopology`).
 */
export interface PackedManifestV2 {
  version: 2;
  /** The binary file with every weight, in order. */
  path: string;
  layers: Record<string, PackedLayer>;
}

/** The `lowbitPacked` section of a packed model.json. */
export type PackedManifest = PackedManifestV1 | PackedManifestV2;

/** Bytes a weight takes in the binary file. */
export function packedBytes(w: PackedWeight): number {
  const n = w.shape.reduce((a, b) => a * b, 1);
  if (w.bits === undefined) return 4 * n;
  const channels = w.axis == null ? 1 : w.shape[w.axis]!;
  return Math.ceil((n * w.bits) / 8) + (w.zeroPoint ? 5 : 4) * channels;
}

export const PACKED_FORMAT = 'lowbit-packed';

/** The `lowbitPacked.version` this package writes. */
export const PACKED_VERSION = 2 as const;
