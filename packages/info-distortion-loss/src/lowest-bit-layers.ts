import { LowbitError } from '@lowbit/core';

function checkBits(bits: number, layer: string, what: string): void {
  if (!Number.isInteger(bits) || bits < 1) throw new LowbitError('E_BITS', `lowestBitLayers: layer '${layer}' ${what} must be a positive integer bit-width, got ${bits}`, { layer });
}

/**
 * The layers a random-bit pass sampled at their lowest active candidate bit-width — those the
 * IDM term ({@link idmLoss}) applies to. "Active" candidates are those the bit-width scheduler
 * has not removed yet, so `lowest` may change during training.
 *
 * Returns the layer names in the iteration order of `sampled` (insertion order; note that
 * JavaScript lists integer-like keys such as `'3'` first, in numeric order).
 *
 * @param sampled Bits sampled for each layer in this pass.
 * @param lowest Lowest active candidate bits of each layer (may list more layers than `sampled`).
 * @throws LowbitError `E_BITS` when a sampled layer has no lowest candidate, a bit-width is not
 *   a positive integer, or a layer was sampled below its lowest active candidate.
 */
export function lowestBitLayers(sampled: Readonly<Record<string, number>>, lowest: Readonly<Record<string, number>>): string[] {
  const out: string[] = [];
  for (const [layer, bits] of Object.entries(sampled)) {
    if (!Object.hasOwn(lowest, layer)) {
      throw new LowbitError('E_BITS', `lowestBitLayers: layer '${layer}' was sampled at ${bits} bits but has no lowest candidate bit-width`, { layer });
    }
    const lo = lowest[layer]!;
    checkBits(bits, layer, 'sampled bits');
    checkBits(lo, layer, 'lowest candidate');
    if (bits < lo) {
      throw new LowbitError('E_BITS', `lowestBitLayers: layer '${layer}' was sampled at ${bits} bits, below its lowest active candidate ${lo}`, {
        layer,
        sampled: bits,
        lowest: lo,
      });
    }
    if (bits === lo) out.push(layer);
  }
  return out;
}
