import { LowbitError } from '@lowbit/core';
import { type BitPolicy, type LayerCost, layerCosts, type NetworkSpec } from '@lowbit/nn';

/**
 * What a cost model measures. `size` costs do not depend on activation bits, so a size-budget
 * search moves weight knobs only; `bitops` (and any other cost) moves both.
 */
export type CostKind = 'bitops' | 'size';

/** The cost of a policy (lower is cheaper), with what it measures when known. */
export interface CostModel {
  (policy: BitPolicy): number;
  readonly kind?: CostKind;
}

/** Bytes per KB in {@link bitsToKB} / {@link kbToBits}. */
export const BYTES_PER_KB = 1024;

/** Throws when the policy names a layer that is not one of the network's quantizable layers. */
function layerCheck(spec: NetworkSpec, layers: readonly LayerCost[]): (policy: BitPolicy) => void {
  const names = new Set(layers.map((l) => l.name));
  return (policy) => {
    for (const name of Object.keys(policy)) {
      if (!names.has(name)) {
        throw new LowbitError('E_KEY', `the policy sets layer '${name}', which is not a quantizable layer of '${spec.name}' (${names.size} layers)`);
      }
    }
  };
}

/**
 * BitOps per sample, `Σ_l b_w · b_a · MACs_l` over the quantizable layers (layers the policy does
 * not name count at 32/32). The same number as `@lowbit/nn`'s `bitOps`, with the layer table
 * computed once. A policy naming a layer the network does not have is an error.
 */
export function bitOpsCost(spec: NetworkSpec): CostModel {
  const layers = layerCosts(spec);
  const check = layerCheck(spec, layers);
  const cost = (policy: BitPolicy): number => {
    check(policy);
    let s = 0;
    for (const l of layers) {
      const b = policy[l.name];
      s += (b?.w ?? 32) * (b?.a ?? 32) * l.macs;
    }
    return s;
  };
  return Object.assign(cost, { kind: 'bitops' as const });
}

/**
 * Model size in **bits**, `Σ_l b_w · weights_l` over the quantizable layers' kernels (layers the
 * policy does not name count at 32 bits), plus 32 bits per bias when `withExtras`. The same number
 * as `@lowbit/nn`'s `weightBits`. Convert with {@link bitsToKB} / {@link kbToBits}.
 */
export function sizeCost(spec: NetworkSpec, o: { withExtras?: boolean } = {}): CostModel {
  const layers = layerCosts(spec);
  const check = layerCheck(spec, layers);
  const extras = o.withExtras ? layers.reduce((s, l) => s + 32 * l.extraParams, 0) : 0;
  const cost = (policy: BitPolicy): number => {
    check(policy);
    let s = extras;
    for (const l of layers) s += (policy[l.name]?.w ?? 32) * l.weights;
    return s;
  };
  return Object.assign(cost, { kind: 'size' as const });
}

/** Bits to KB (1 KB = 1,024 bytes = 8,192 bits). */
export function bitsToKB(bits: number): number {
  return bits / (8 * BYTES_PER_KB);
}

/** KB to bits (1 KB = 1,024 bytes = 8,192 bits): a size budget given in KB. */
export function kbToBits(kb: number): number {
  return kb * 8 * BYTES_PER_KB;
}
