import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { checkSchema, LowbitError } from '@lowbit/core';
import type { ForwardOptions, Network } from '@lowbit/nn';
import { codesOnGrid } from '@lowbit/tfjs-io';
import { fakeQuantize, grid, MAX_BITS, MIN_BITS } from '@lowbit/quantizers';

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

/** Largest finite float32: a scale beyond it is Infinity in every tensor it reaches. */
const FLOAT32_MAX = 3.4028234663852886e38;
const positiveFinite = z.number().positive().max(FLOAT32_MAX);
const bits = z.number().int().min(MIN_BITS).max(MAX_BITS);

/** The `quantization` metadata of a ptq output's model.json. */
export const quantizationMetaSchema = z.object({
  format: z.literal('lowbit-quantized'),
  version: z.literal(1),
  layers: z.record(
    z.string(),
    z
      .object({
        bits,
        axis: z.number().int().nonnegative().nullable(),
        scale: z.array(positiveFinite).min(1),
        zeroPoint: z.array(z.number().int().nonnegative()).optional(),
      })
      .superRefine((g, ctx) => {
        if (g.zeroPoint && g.zeroPoint.length !== g.scale.length) ctx.addIssue({ code: 'custom', path: ['zeroPoint'], message: `has ${g.zeroPoint.length} entries, expected one per scale (${g.scale.length})` });
        const top = 2 ** g.bits - 1;
        const i = g.zeroPoint?.findIndex((v) => v > top) ?? -1;
        if (i >= 0) ctx.addIssue({ code: 'custom', path: ['zeroPoint', i], message: `is ${g.zeroPoint![i]}, outside the ${g.bits}-bit grid's 0..${top}` });
      }),
  ),
  sites: z.record(z.string(), z.object({ bits, signed: z.boolean(), scale: positiveFinite })),
});

/**
 * Checks a ptq output's quantization metadata against its schema (bits, axes, positive finite
 * scales) and returns it; {@link checkQuantizationFits} then checks it against the network.
 */
export function checkQuantizationMeta(meta: unknown, source: string): QuantizationMeta {
  const m = checkSchema(z.object({ metadata: z.object({ quantization: quantizationMetaSchema }) }), { metadata: { quantization: meta } }, source) as { metadata: { quantization: QuantizationMeta } };
  return m.metadata.quantization;
}

/**
 * Checks that checked quantization metadata belongs to `net`: every layer and site exists, and
 * every quantized kernel lies on its stored grid (one scale and zero point per channel). A file
 * edited by hand or mixed with another run's weights is an error here, not a silently different model.
 */
export function checkQuantizationFits(q: QuantizationMeta, net: Network, source: string): void {
  const nodes = new Set(net.nodes.map((n) => n.name));
  for (const [name, g] of Object.entries(q.layers)) {
    const kernel = net.params[name]?.['kernel'];
    if (!kernel) throw new LowbitError('E_FORMAT', `${source}: field 'metadata.quantization.layers' names '${name}', which is not a layer with a kernel in this network`);
    try {
      codesOnGrid(name, kernel.shape, kernel.dataSync() as Float32Array, g);
    } catch (e) {
      if (e instanceof LowbitError) throw new LowbitError('E_FORMAT', `${source}: field 'metadata.quantization.layers.${name}' does not match the stored kernel: ${e.message}`);
      throw e;
    }
  }
  for (const name of Object.keys(q.sites)) {
    if (!nodes.has(name)) throw new LowbitError('E_FORMAT', `${source}: field 'metadata.quantization.sites' names '${name}', which is not a node of this network`);
  }
}
