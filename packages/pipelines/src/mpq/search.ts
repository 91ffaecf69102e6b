import type * as tf from '@tensorflow/tfjs-core';
import { LowbitError, Rng } from '@lowbit/core';
import type { LabeledSet } from '@lowbit/data';
import { bitOpsCost, checkBudget, type CostModel, type EvaluationContext, greedySearch, type Knob, knobsFor, type SearchResult, type Setting, sizeCost, type TraceStep } from '@lowbit/greedy-search';
import type { BitPolicy } from '@lowbit/nn';
import { batchesOf, type Criterion, disposeBatches, disposeTargets, fixedBatches, policyError, type ScoreTargets, scoreTargets, scoreTargetsOf } from './evaluate-policy.js';
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
  /**
   * Score every step on `scoreImages` images drawn afresh from `set` (seeded; e.g. the training
   * images), BN re-estimated on them, as the reference implementation does — instead of on the
   * same last `scoreImages` calibration images throughout. `bnImages`/`bnOnScore` then do not apply.
   */
  resample?: {
    set: LabeledSet;
    seed?: number;
    /** The first `skip` images of `set` are never drawn (e.g. the validation images, when the calibration set is a prefix of `set`). */
    skip?: number;
  };
  /** Searchable knobs start at (at most) this many bits (the reference starts at W5A5). */
  maxBits?: number;
  /** Searchable knobs never go below this many bits (the reference: 3 at budgets ≥ 5 GBitOps). */
  minBits?: number;
  /**
   * A noise floor on the error (criterion `error` only): differences smaller than one standard
   * error of a top-1 error on the score images, `sqrt(e·(1−e)/n)`, count as none (see
   * greedySearch's `noise`).
   */
  noiseFloor?: boolean;
  /** Aborting stops the search before its next evaluation: the promise rejects with a `LowbitError` of code `E_ABORTED`. */
  signal?: AbortSignal;
  onStep?: (s: TraceStep) => void;
}

export interface MpqSearch {
  knobs: Knob[];
  cost: CostModel;
  costKind: 'bitops' | 'size';
  budgetValue: number;
  /** The uniform policy that defines the budget (avg-bits), if any. */
  uniform: BitPolicy | null;
  /**
   * Every uniform policy WbAb (W and A from the candidate bits) within the budget and the knob
   * limits: the answers the search's end point must beat (a budget at uniform W3A2's BitOps also
   * holds W2A3, which may be better). The end point is compared with each on the validation images,
   * or, without them, on the search's own criterion.
   */
  rivals: UniformRival[];
  result: SearchResult;
  /**
   * With `validateImages`: the end point's error on the validation images, the lowest of the
   * rivals' (`uniform`, by `uniformPolicy`) and each rival's, and the search's end point.
   */
  validation: { images: number; search: number; uniform: number; uniformPolicy: string; rivals: Record<string, number>; searchPolicy: BitPolicy } | null;
}

/** A uniform policy a search is compared with (see {@link MpqSearch.rivals}). */
export interface UniformRival {
  /** `W<w>A<a>`. */
  name: string;
  policy: BitPolicy;
  setting: Setting;
  cost: number;
}

/**
 * The search's knobs: one per layer's weights and one per activation site, with the one-shot
 * network's candidates — for searchable knobs (several candidates) only those in
 * [`minBits`, `maxBits`] when given.
 */
export function oneShotKnobs(o: OneShotNet, limits: { minBits?: number; maxBits?: number } = {}): Knob[] {
  const lo = limits.minBits ?? 0;
  const hi = limits.maxBits ?? Number.POSITIVE_INFINITY;
  if (lo > hi) throw new LowbitError('E_ARG', `the lowest bits (${lo}, --min-bits) are above the highest (${hi}, --max-bits)`);
  const limit = (what: string, c: number[]) => {
    if (c.length < 2) return c;
    const kept = c.filter((b) => b >= lo && b <= hi);
    const range = Number.isFinite(hi) ? `${lo}..${hi} bits` : `≥ ${lo} bits`;
    if (kept.length === 0) throw new LowbitError('E_ARG', `${what} has candidate bits ${c.join(', ')}, none within the limits (${range}: --min-bits/--max-bits)`);
    return kept;
  };
  return knobsFor(o.net, {
    weightCandidates: (l) => limit(`layer '${l.spec.name}'`, o.layers.get(l.spec.name)!.candidates),
    activationCandidates: (s) => limit(`activation '${s.name}'`, o.sites.get(s.name)?.candidates ?? [FLOAT_BITS]),
  });
}

/** One standard error of a top-1 error rate `e` measured on `n` images, `sqrt(e·(1−e)/n)`: the search's noise floor. */
function topOneStandardError(e: number, n: number): number {
  return Math.sqrt(Math.max(0, e * (1 - e)) / n);
}

/** `count` distinct image indices of a set of `size`, drawn for scoring round `round` (seeded). */
export function roundIndices(size: number, count: number, seed: number, round: number): Int32Array {
  if (count > size) throw new LowbitError('E_CALIB', `a scoring round needs ${count} images; the set has ${size}`);
  const rng = new Rng((Math.imul(seed + 1, 1_000_003) + round) >>> 0);
  const all = Int32Array.from({ length: size }, (_, i) => i);
  for (let i = 0; i < count; i++) {
    const j = i + rng.int(size - i);
    const t = all[i]!;
    all[i] = all[j]!;
    all[j] = t;
  }
  return all.slice(0, count);
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

/** What a search will do, worked out and checked without touching any tensor (see {@link checkSearchOptions}). */
function searchPlan(o: OneShotNet, s: MpqSearchOptions) {
  const knobs = oneShotKnobs(o, { ...(s.minBits !== undefined ? { minBits: s.minBits } : {}), ...(s.maxBits !== undefined ? { maxBits: s.maxBits } : {}) });
  const criterion = s.criterion ?? 'kl';
  if (s.noiseFloor && criterion !== 'error') throw new LowbitError('E_ARG', `the noise floor needs the 'error' criterion (a top-1 error has a known standard error), got '${criterion}'`);
  const costKind: 'bitops' | 'size' = s.budget.kind === 'size' ? 'size' : 'bitops';
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
  checkBudget(knobs, cost, budgetValue, { kind: costKind, floorBits: s.minBits });
  const rivals = uniformRivals(o, knobs, cost, budgetValue);
  const validate = rivals.length > 0 ? (s.validateImages ?? 0) : 0;
  const resample = s.resample;
  const bnEnd = s.bnOnScore || resample ? 0 : s.bnImages;
  const scoreFromCalib = resample ? 0 : s.scoreImages;
  const needed = bnEnd + validate + scoreFromCalib;
  if (needed > s.calib.size) {
    throw new LowbitError('E_CALIB', `the search needs ${needed} calibration images (BN re-estimation ${bnEnd}, validation ${validate}, scoring ${scoreFromCalib}); the set has ${s.calib.size}`);
  }
  if (resample && s.scoreImages > resample.set.size - (resample.skip ?? 0)) {
    const skip = resample.skip ?? 0;
    throw new LowbitError('E_ARG', `--resample draws --score-images ${s.scoreImages} from the ${resample.set.size - skip} images of ${resample.set.name}${skip ? ` after the first ${skip} (the validation images)` : ''}; lower --score-images${skip ? ' or --validate-images' : ''}`);
  }
  return { knobs, criterion, costKind, cost, uniform, rivals, budgetValue, validate, resample, bnEnd, scoreFromCalib };
}

/** The uniform policies WbAb within `budget` whose settings the knobs allow (highest W, then A, first; equal settings once). */
function uniformRivals(o: OneShotNet, knobs: readonly Knob[], cost: CostModel, budget: number): UniformRival[] {
  const bits = [...o.config.bits].sort((x, y) => y - x);
  const seen = new Set<string>();
  const out: UniformRival[] = [];
  for (const w of bits) {
    for (const a of bits) {
      const policy = uniformOneShotPolicy(o, w, a);
      const setting = settingFromPolicy(knobs, policy);
      const key = JSON.stringify(setting);
      if (seen.has(key) || !knobs.every((k) => k.candidates.includes(setting[k.id]!))) continue;
      seen.add(key);
      const c = cost(policy);
      if (c <= budget * (1 + 1e-12)) out.push({ name: `W${w}A${a}`, policy, setting, cost: c });
    }
  }
  return out;
}

/**
 * Checks a search's options against the one-shot network and its data — knob limits, budget,
 * image counts, the resampling pool — as {@link searchOneShot} does first, so that a caller can
 * refuse bad options before any other work (e.g. before making an output folder).
 */
export function checkSearchOptions(o: OneShotNet, s: MpqSearchOptions): void {
  searchPlan(o, s);
}

/** Runs the inference-only greedy search on a one-shot network for a budget. */
export async function searchOneShot(o: OneShotNet, s: MpqSearchOptions): Promise<MpqSearch> {
  const { knobs, criterion, costKind, cost, uniform, rivals, budgetValue, validate, resample, bnEnd, scoreFromCalib } = searchPlan(o, s);
  const scoreFrom = s.calib.size - scoreFromCalib;
  const score = resample ? [] : fixedBatches(s.calib, scoreFrom, s.scoreImages);
  const bn = s.bnOnScore || resample ? score : fixedBatches(s.calib, 0, s.bnImages);
  const targets = resample ? null : scoreTargets(o, criterion, s.calib, scoreFrom, s.scoreImages, bn, score);
  // resampled scoring: one batch per round, made when the round starts (BN re-estimated on it)
  let current: { round: number; batches: tf.Tensor[]; targets: ScoreTargets } | null = null;
  const roundData = (round: number) => {
    if (current?.round !== round) {
      if (current) {
        disposeBatches(current.batches);
        disposeTargets(current.targets);
      }
      const set = resample!.set;
      const skip = resample!.skip ?? 0;
      const idx = roundIndices(set.size - skip, s.scoreImages, resample!.seed ?? 0, round).map((i) => i + skip);
      const batches = batchesOf(set, idx);
      current = { round, batches, targets: scoreTargetsOf(o, criterion, set, idx, batches, batches) };
    }
    return current;
  };
  const noise = s.noiseFloor ? (e: number) => topOneStandardError(e, s.scoreImages) : undefined;
  try {
    const evaluate = (policy: BitPolicy, ctx: EvaluationContext) => {
      if (!resample) return policyError(o, policy, bn, score, targets!);
      const r = roundData(ctx.round);
      return policyError(o, policy, r.batches, r.batches, r.targets);
    };
    const searched = await greedySearch(knobs, evaluate, {
      budget: budgetValue,
      cost,
      kind: costKind,
      phases: s.phases,
      allowRaise: s.allowRaise,
      fill: s.fill ?? true,
      scoring: s.scoring ?? 'efficiency',
      ...(resample ? { resample: true } : {}),
      ...(noise ? { noise } : {}),
      // the uniform policies within the budget are candidate answers too: without validation images the
      // search's own criterion picks among them (the result is never worse on it than any of them)
      ...(rivals.length > 0 && !validate ? { references: rivals.map((r) => r.setting) } : {}),
      ...(s.onStep ? { onStep: s.onStep } : {}),
      ...(s.signal ? { signal: s.signal } : {}),
    });
    // a reference the search returned is named by its uniform policy
    const ref = /^reference (\d+)$/.exec(searched.chosen);
    const result: SearchResult = ref ? { ...searched, chosen: `uniform ${rivals[Number(ref[1])]!.name}` } : searched;
    const base = { knobs, cost, costKind, budgetValue, uniform, rivals } as const;
    if (!validate) return { ...base, result, validation: null };
    // the final pick on images the search never saw: its end point against every uniform policy within the budget
    const vb = fixedBatches(s.calib, bnEnd, validate);
    const vt = scoreTargets(o, criterion, s.calib, bnEnd, validate, vb, vb);
    try {
      const searchPolicy = result.policy;
      const vSearch = policyError(o, searchPolicy, vb, vb, vt);
      const errors = rivals.map((r) => policyError(o, r.policy, vb, vb, vt));
      const bestAt = errors.reduce((m, e, i) => (e < errors[m]! ? i : m), 0);
      const best = rivals[bestAt]!;
      const validation = { images: validate, search: vSearch, uniform: errors[bestAt]!, uniformPolicy: best.name, rivals: Object.fromEntries(rivals.map((r, i) => [r.name, errors[i]!])), searchPolicy };
      // with a noise floor, a uniform policy must be better by more than the noise on the validation images
      const margin = s.noiseFloor ? topOneStandardError(vSearch, validate) : 0;
      if (errors[bestAt]! >= vSearch - margin) return { ...base, result, validation };
      // its error as the search measures errors: on the score set, or on a fresh round's batch when resampling
      const lastRound = result.evaluated.reduce((m, p) => Math.max(m, p.round), 0);
      const error = evaluate(best.policy, { setting: best.setting, cost: best.cost, round: lastRound + 1 });
      const picked: SearchResult = { ...result, policy: best.policy, setting: best.setting, cost: best.cost, error, evaluations: result.evaluations + 1, chosen: `uniform ${best.name}` };
      return { ...base, result: picked, validation };
    } finally {
      disposeBatches(vb);
      disposeTargets(vt);
    }
  } finally {
    if (!s.bnOnScore && !resample) disposeBatches(bn);
    disposeBatches(score);
    if (targets) disposeTargets(targets);
    const last = current as { batches: tf.Tensor[]; targets: ScoreTargets } | null;
    if (last) {
      disposeBatches(last.batches);
      disposeTargets(last.targets);
    }
  }
}
