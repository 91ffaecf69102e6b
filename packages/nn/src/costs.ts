import { analyze } from './analyze.js';
import { quantizableLayers } from './sites.js';
import type { NetworkSpec } from './spec.js';

/** Bits of one layer: `w` for its weights, `a` for the activation it reads. */
export interface LayerBits {
  w: number;
  a: number;
}

/** A per-layer bit policy: layer name → bits. Layers not listed default to 32/32 (float). */
export type BitPolicy = Record<string, LayerBits>;

/** Per-layer static costs, in node order. */
export interface LayerCost {
  name: string;
  op: string;
  macs: number;
  weights: number;
  /** Other parameters (biases), kept in float32. */
  extraParams: number;
}

export function layerCosts(spec: NetworkSpec): LayerCost[] {
  return quantizableLayers(spec).map((l) => ({
    name: l.spec.name,
    op: l.spec.op,
    macs: l.macs,
    weights: l.weightCount,
    extraParams: l.spec.useBias ? (l.spec.op === 'dense' ? l.spec.units : l.spec.op === 'conv2d' || l.spec.op === 'conv2dTranspose' ? l.spec.filters : l.weightCount / (l.spec.kernelSize[0] * l.spec.kernelSize[1])) : 0,
  }));
}

/** Multiply-accumulates per sample over all nodes (layers and batch norms). */
export function totalMacs(spec: NetworkSpec, layersOnly = true): number {
  const info = analyze(spec);
  if (layersOnly) return layerCosts(spec).reduce((s, l) => s + l.macs, 0);
  return info.order.reduce((s, n) => s + n.macs, 0);
}

function bitsOf(policy: BitPolicy, name: string): LayerBits {
  return policy[name] ?? { w: 32, a: 32 };
}

/** BitOps per sample: `Σ_l b_w · b_a · MACs_l` over quantizable layers. */
export function bitOps(spec: NetworkSpec, policy: BitPolicy): number {
  return layerCosts(spec).reduce((s, l) => {
    const b = bitsOf(policy, l.name);
    return s + b.w * b.a * l.macs;
  }, 0);
}

/** Weight storage in bits: `Σ_l b_w · weights_l` (+ 32 bits per bias/extra parameter when `withExtras`). */
export function weightBits(spec: NetworkSpec, policy: BitPolicy, withExtras = false): number {
  return layerCosts(spec).reduce((s, l) => s + bitsOf(policy, l.name).w * l.weights + (withExtras ? 32 * l.extraParams : 0), 0);
}

/** A policy with every quantizable layer at the same bits, except named layers kept at 8 bits. */
export function uniformPolicy(spec: NetworkSpec, bits: LayerBits, keep8bit: { first?: boolean; last?: boolean } = { first: true, last: true }): BitPolicy {
  const layers = layerCosts(spec);
  const policy: BitPolicy = {};
  layers.forEach((l, i) => {
    const pinned = (keep8bit.first && i === 0) || (keep8bit.last && i === layers.length - 1);
    policy[l.name] = pinned ? { w: 8, a: 8 } : { ...bits };
  });
  return policy;
}
