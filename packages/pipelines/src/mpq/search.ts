import { LowbitError } from '@lowbit/core';
import type { LabeledSet } from '@lowbit/data';
import { bitOpsCost, type CostModel, greedySearch, type Knob, knobsFor, type SearchResult, sizeCost, type TraceStep } from '@lowbit/greedy-search';
import type { BitPolicy } from '@lowbit/nn';
import { type Criterion, disposeBatches, disposeTargets, fixedBatches, policyError, scoreTargets } from './evaluate-policy.js';
import { FLOAT_BITS, type OneShotNet } from './one-shot-net.js';

/** A budget: raw BitOps, weight storage in bits, or the BitOps of a uniform policy (`avg-bits` b = uniform WbAb). */
export type Budget = { kind: 'bitops'; bitOps: number } | { kind: 'size'; bits: number } | { kind: 'avg-bits'; bits: number } | { kind: 'uniform'; w: number; a: number };

export interface MpqSearchOptions {
  budget: Budget;
  calib: LabeledSet;
  /** Calibration images for BN re-estimation (from index 0). */
  bnImages: number;
  /** Held-out calibration images the error is measured on (the last ones of the set). */
  scoreImages: number;
  /** Re-estimate BN on the score images themselves (the paper's protocol) instead of on `bnImages` separate ones. */
  bnOnScore?: boolean;
  /** What the error compares with (default `kl`: the max-bits predictions; `ce`: the labels). */
  criterion?: Criterion;
  /**
   * Calibration images, used neither for BN re-estimation nor for scoring during the search, on
   * which the search's end point and the budget's uniform policy are compared at the end (BN
   * re-estimated on them, same criterion); 0 (default) compares them on the search's own score set.
   */
  validateImages?: number;
  phases: 'weights-then-activations' | 'joint';
  allowRaise: boolean;
  /** Spend leftover budget on raises that lower the error (default true). */
  fill?: boolean;
  /** Move ranking (default `efficiency`: error increase per BitOp saved; `paper`: the reference's score). */
  scoring?: 'paper' | 'efficiency';
  onStep?: (s: TraceStep) => void;
}

export interface MpqSearch {
  knobs: Knob[];
  cost: CostModel;
  costKind: 'bitops' | 'size';
  budgetValue: number;
  /** The uniform policy that defines the budget (avg-bits), if any. */
  uniform: BitPolicy | null;
  result: SearchResult;
  /** With `validateImages`: both candidates' errors on the validation images, and the search's end point. */
  validation: { images: number; search: number; uniform: number; searchPolicy: BitPolicy } | null;
}

/** The search's knobs: one per layer's weights and one per activation site, with the one-shot network's candidates. */
export function oneShotKnobs(o: OneShotNet): Knob[] {
  return knobsFor(o.net, {
    weightCandidates: (l) => o.layers.get(l.spec.name)!.candidates,
    activationCandidates: (s) => o.sites.get(s.name)?.candidates ?? [FLOAT_BITS],
  });
}

/**
 * The uniform policy at `bits` on the one-shot network: every searchable weight and activation at
 * `bits` (raised to a knob's lowest candidate where it has none so low, e.g. depthwise at 2 → 3),
 * fixed layers at their bits.
 */
export function uniformOneShotPolicy(o: OneShotNet, bits: number, aBits = bits): BitPolicy {
  const p: BitPolicy = {};
  const pick = (c: number[], b: number) => (c.length === 1 ? c[0]! : (c.filter((x) => x <= b).pop() ?? c[0]!));
  for (const l of o.layers.values()) {
    const s = o.sites.get(l.site);
    p[l.name] = { w: pick(l.candidates, bits), a: s ? pick(s.candidates, aBits) : FLOAT_BITS };
  }
  return p;
}

/** The knob setting of a policy (weight knobs from `w`, activation knobs from their first consumer's `a`). */
export function settingFromPolicy(knobs: readonly Knob[], policy: BitPolicy): Record<string, number> {
  return Object.fromEntries(knobs.map((k) => [k.id, k.kind === 'weight' ? policy[k.layers[0]!]!.w : policy[k.layers[0]!]!.a]));
}

/** Runs the inference-only greedy search on a one-shot network for a budget. */
export async function searchOneShot(o: OneShotNet, s: MpqSearchOptions): Promise<MpqSearch> {
  const knobs = oneShotKnobs(o);
  const costKind = s.budget.kind === 'size' ? 'size' : 'bitops';
  const cost = costKind === 'size' ? sizeCost(o.net) : bitOpsCost(o.net);
  let uniform: BitPolicy | null = null;
  let budgetValue: number;
  if (s.budget.kind === 'avg-bits' || s.budget.kind === 'uniform') {
    const [w, a] = s.budget.kind === 'avg-bits' ? [s.budget.bits, s.budget.bits] : [s.budget.w, s.budget.a];
    for (const b of [w, a]) {
      if (!Number.isInteger(b) || !o.config.bits.includes(b)) throw new LowbitError('E_ARG', `uniform budget bits must be candidate bit-widths (${o.config.bits.join(', ')}), got ${b}`);
    }
    uniform = uniformOneShotPolicy(o, w, a);
    budgetValue = cost(uniform);
  } else budgetValue = s.budget.kind === 'bitops' ? s.budget.bitOps : s.budget.bits;
  const validate = uniform ? (s.validateImages ?? 0) : 0;
  const bnEnd = s.bnOnScore ? 0 : s.bnImages;
  const needed = bnEnd + validate + s.scoreImages;
  if (needed > s.calib.size) {
    throw new LowbitError('E_CALIB', `the search needs ${needed} calibration images (BN re-estimation ${bnEnd}, validation ${validate}, scoring ${s.scoreImages}); the set has ${s.calib.size}`);
  }
  const scoreFrom = s.calib.size - s.scoreImages;
  const score = fixedBatches(s.calib, scoreFrom, s.scoreImages);
  const bn = s.bnOnScore ? score : fixedBatches(s.calib, 0, s.bnImages);
  const targets = scoreTargets(o, s.criterion ?? 'kl', s.calib, scoreFrom, s.scoreImages, bn, score);
  try {
    const evaluate = (policy: BitPolicy) => policyError(o, policy, bn, score, targets);
    const result = await greedySearch(knobs, evaluate, {
      budget: budgetValue,
      cost,
      kind: costKind,
      phases: s.phases,
      allowRaise: s.allowRaise,
      fill: s.fill ?? true,
      scoring: s.scoring ?? 'efficiency',
      // the uniform policy that defines the budget is a candidate answer too: without validation images the
      // search's own criterion picks between them (the result is never worse on it)
      ...(uniform && !validate ? { references: [settingFromPolicy(knobs, uniform)] } : {}),
      ...(s.onStep ? { onStep: s.onStep } : {}),
    });
    const base = { knobs, cost, costKind, budgetValue, uniform } as const;
    if (!uniform || !validate) return { ...base, result, validation: null };
    // the final pick on images the search never saw: its end point against the uniform policy
    const vb = fixedBatches(s.calib, bnEnd, validate);
    const vt = scoreTargets(o, s.criterion ?? 'kl', s.calib, bnEnd, validate, vb, vb);
    try {
      const searchPolicy = result.policy;
      const vSearch = policyError(o, searchPolicy, vb, vb, vt);
      const vUniform = policyError(o, uniform, vb, vb, vt);
      const validation = { images: validate, search: vSearch, uniform: vUniform, searchPolicy };
      if (vUniform >= vSearch) return { ...base, result, validation };
      const setting = settingFromPolicy(knobs, uniform);
      const picked: SearchResult = { ...result, policy: uniform, setting, cost: cost(uniform), error: evaluate(uniform), evaluations: result.evaluations + 1, chosen: 'reference 0' };
      return { ...base, result: picked, validation };
    } finally {
      disposeBatches(vb);
      disposeTargets(vt);
    }
  } finally {
    if (!s.bnOnScore) disposeBatches(bn);
    disposeBatches(score);
    disposeTargets(targets);
  }
}
