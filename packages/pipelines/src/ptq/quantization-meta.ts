import * as tf from '@tensorflow/tfjs-core';
import type { ForwardOptions } from '@lowbit/nn';
import { fakeQuantize, grid } from '@lowbit/quantizers';

/** Quantization parameters stored in a quantized checkpoint's metadata. */
export interface QuantizationMeta {
  format: 'lowbit-quantized';
  version: 1;
  /** Per-layer weight grids; `zeroPoint` (one per scale) only for asymmetric grids. */
  layers: Record<string, { bits: number; axis: number | null; scale: number[]; zeroPoint?: number[] }>;
  sites: Record<string, { bits: number; signed: boolean; scale: number }>;
}

/** Forward hooks that quantize activations with stored steps (weights are already on their grids). */
export function quantizedHooks(meta: QuantizationMeta): Pick<ForwardOptions, 'activation'> {
  const steps = new Map(Object.entries(meta.sites).map(([k, v]) => [k, { ...v, g: grid(v.bits, v.signed) }]));
  return {
    activation: (site, x) => {
      const s = steps.get(site);
      if (!s) return x;
      return tf.tidy(() => fakeQuantize(x, tf.scalar(s.scale), tf.scalar(0), { grid: s.g }));
    },
  };
}

/** The stored grid of a hardened weight: zero points only when the grid has them (asymmetric). */
export function gridMeta(h: { bits: number; axis: number | null; scale: Float32Array; zeroPoint: Int32Array; signed: boolean }): QuantizationMeta['layers'][string] {
  const asymmetric = !h.signed || h.zeroPoint.some((z) => z !== 0);
  return { bits: h.bits, axis: h.axis, scale: Array.from(h.scale), ...(asymmetric ? { zeroPoint: Array.from(h.zeroPoint) } : {}) };
}
