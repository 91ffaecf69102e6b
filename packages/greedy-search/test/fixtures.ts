import { type NetworkSpec, NetworkBuilder } from '@lowbit/nn';
import type { CostModel, Knob } from '../src/index.js';

/**
 * 8×8×2 input; conv3×3 2→4 (same, stride 1); depthwise 3×3 stride 2 (same) → 4×4×4;
 * conv1×1 4→8; global average pool; dense 8→3 with bias.
 */
export function tinySpec(): NetworkSpec {
  return new NetworkBuilder('tiny', [8, 8, 2])
    .block('stem', (b, x) => b.relu('relu', b.conv2d('conv', x, { filters: 4, kernel: 3 })))
    .block('body', (b, x) => {
      const h = b.relu('dw_relu', b.depthwiseConv2d('dw', x, { kernel: 3, strides: 2 }));
      return b.relu('pw_relu', b.conv2d('pw', h, { filters: 8, kernel: 1 }));
    })
    .block('head', (b, x) => b.dense('fc', b.globalAvgPool('gap', x), { units: 3 }))
    .build();
}

/** Hand-counted MACs and kernel sizes of {@link tinySpec}. */
export const TINY = {
  'stem/conv': { macs: 8 * 8 * 4 * (3 * 3 * 2), weights: 3 * 3 * 2 * 4 },
  'body/dw': { macs: 4 * 4 * 4 * (3 * 3), weights: 3 * 3 * 4 },
  'body/pw': { macs: 4 * 4 * 8 * 4, weights: 4 * 8 },
  'head/fc': { macs: 8 * 3, weights: 8 * 3 },
} as const;

/** Weight knobs `w:k0 … w:k{n−1}` on layers `k0 …`, each over `candidates`. */
export function tableKnobs(n: number, candidates: number[]): Knob[] {
  return Array.from({ length: n }, (_, i) => ({ id: `w:k${i}`, kind: 'weight' as const, layers: [`k${i}`], candidates: candidates.slice() }));
}

/** Cost `Σ_k unit_k · w_k` over the layers `k0 …` (BitOps-like: activation bits ignored unless `withA`). */
export function linearCost(units: number[], o: { withA?: boolean; kind?: 'bitops' | 'size' } = {}): CostModel {
  const f = (policy: Record<string, { w: number; a: number }>) =>
    units.reduce((s, u, i) => {
      const b = policy[`k${i}`] ?? { w: 32, a: 32 };
      return s + u * b.w * (o.withA ? b.a : 1);
    }, 0);
  return o.kind ? Object.assign(f, { kind: o.kind }) : f;
}

/** Every setting of `n` knobs over `candidates` (cartesian product). */
export function allSettings(n: number, candidates: number[]): number[][] {
  let out: number[][] = [[]];
  for (let i = 0; i < n; i++) out = out.flatMap((s) => candidates.map((c) => [...s, c]));
  return out;
}

/** A deterministic pseudo-random number in [0, 1) from a string (FNV-1a). */
export function hash01(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return (h >>> 0) / 4294967296;
}

/** The `code` of the LowbitError `fn` throws (fails the test when it does not throw). */
export function thrownCode(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code ?? `not a LowbitError: ${String(e)}`;
  }
  throw new Error('expected a throw');
}
