import { LowbitError, yieldToEventLoop } from '@lowbit/core';
import type { BitPolicy } from '@lowbit/nn';
import type { CostKind, CostModel } from './costs.js';
import { checkBudget, settingCost } from './budget.js';
import { type Knob, validateKnobs } from './knobs.js';
import { moveScores, type ScoreNormalization } from './score.js';
import { policyFromKnobs, type Setting } from './setting.js';

/** What the evaluator is told besides the policy. */
export interface EvaluationContext {
  /** The setting the policy comes from (knob id → bits). */
  setting: Readonly<Setting>;
  /** Its cost under the search's cost model. */
  cost: number;
  /**
   * The scoring round: 0 for the starting policy, then one per step (and one for the final
   * comparison with `references`). With {@link SearchOptions.resample} the evaluator scores each
   * round on its own data (e.g. a fresh batch); errors are compared only within a round.
   */
  round: number;
}

/**
 * Scores a policy by inference: typically switch the coupled network to the policy's bits,
 * re-estimate BatchNorm statistics for it, and return the error (or loss) on a held-out
 * calibration batch. Must return a finite number ≥ 0; lower is better.
 */
export type Evaluator = (policy: BitPolicy, ctx: EvaluationContext) => number | Promise<number>;

/**
 * Which knobs a step may move: 1 — weight knobs, 2 — activation knobs, 3 — any knob
 * (the fallback when phase 2 runs out of moves, and every step in `joint` mode); 4 — the fill
 * phase after the budget holds: raising moves that stay within the budget and lower the error.
 */
export type SearchPhase = 1 | 2 | 3 | 4;

/** One applied move of the search. */
export interface TraceStep {
  /** 1-based step number. */
  step: number;
  phase: SearchPhase;
  /** Id of the moved knob. */
  knob: string;
  direction: 'down' | 'up';
  /** Bits before and after the move. */
  from: number;
  to: number;
  /** Error and cost of the policy after the move. */
  error: number;
  cost: number;
  /** The move's score among this step's moves (lower is better). */
  score: number;
  /** Moves scored in this step. */
  moves: number;
  /** Evaluator calls made in this step (forward passes), and moves answered from the cache. */
  evaluations: number;
  cacheHits: number;
  /** True once the search is in descent mode: lowering moves only, see {@link SearchOptions.maxSteps}. */
  descent: boolean;
}

/** Options of {@link greedySearch}. */
export interface SearchOptions {
  /** The cost the result must not exceed, in the cost model's unit (BitOps, bits…). */
  budget: number;
  cost: CostModel;
  /**
   * `size` moves weight knobs only (activations keep their highest candidate) and puts the whole
   * budget on phase 1; `bitops` runs both phases. Default: `cost.kind`, else `bitops`.
   */
  kind?: CostKind;
  /**
   * `weights-then-activations` (default, the paper's): phase 1 lowers weights until
   * `cost ≤ cost_max · (budget/cost_max)^weightShare`, phase 2 activations until the budget holds,
   * phase 3 any knob if phase 2 runs out of moves. `joint`: any knob at every step.
   */
  phases?: 'weights-then-activations' | 'joint';
  /** Share of the (log) cost reduction done by weights in phase 1, in [0, 1] (default 0.5). */
  weightShare?: number;
  /** Weight of the error term in the score (default 1.5). */
  errorWeight?: number;
  /** Score normalization (default `'max'`), see {@link moveScores}. */
  normalization?: ScoreNormalization;
  /**
   * How moves are ranked. `paper` (default): `errorWeight·err/err_max − (1 − cost/cost_max)` over
   * the step's moves ({@link moveScores}); its cost term differs between moves only by each
   * move's saving / cost_max, so in practice it picks the lowest-error move whatever it saves.
   * `efficiency`: error increase per unit of cost saved, `(err − err_now) / (cost_now − cost)`,
   * the greedy knapsack rule — cheap-to-lower layers with large savings go first. Raising moves
   * (which save nothing) rank by the paper score among themselves only when no lowering move is
   * left; use `allowRaise: false` with it.
   */
  scoring?: 'paper' | 'efficiency';
  /** Also try raising each knob by one candidate (default true). Moves never return to a visited policy. */
  allowRaise?: boolean;
  /**
   * After this many applied moves the search enters descent mode: lowering moves only, which
   * reaches the budget in at most `Σ (candidates − 1)` further steps. Descent mode also starts
   * when the last phase has no lowering move to an unvisited policy left (possible only after
   * raises); it may then step onto a visited policy, which cannot loop since every move lowers.
   * Default `2 · Σ (candidates − 1)` over the searchable knobs.
   */
  maxSteps?: number;
  /**
   * After the budget holds, spend what is left of it: repeatedly apply the raising move (one knob,
   * one candidate up) that stays within the budget and lowers the error most; stop when none
   * lowers it (phase 4 in the trace). Default false (the paper's search stops at the budget).
   */
  fill?: boolean;
  /**
   * Feasible reference settings (e.g. the uniform policy that defines the budget). They are
   * evaluated too, and the result is the lowest-error policy among the search's end point and
   * these; `chosen` says which. A reference above the budget is an error.
   */
  references?: readonly Setting[];
  /**
   * The evaluator scores each round on different data (a fresh batch per step, as the
   * reference implementation does): every step then re-evaluates the current policy in the new
   * round, and identical policies are evaluated once per round instead of once per search.
   * Default false.
   */
  resample?: boolean;
  /**
   * Noise floor of the error: an error difference smaller than `noise(currentError)` is no
   * difference. Lowering moves whose error is within the noise of the step's best error are
   * ties, and the tie that saves the most cost wins (with `efficiency` scoring, an error increase
   * within the noise counts as 0); the fill phase raises only on a gain larger than the noise;
   * a reference replaces the end point only when better by more than the noise. Default: none.
   */
  noise?: (currentError: number) => number;
  /** Called after every applied move. */
  onStep?: (step: TraceStep) => void;
  /** Checked before every evaluation: once aborted, the search rejects with a `LowbitError` of code `E_ABORTED`. */
  signal?: AbortSignal;
}

/** A policy the search evaluated. */
export interface EvaluatedPoint {
  setting: Setting;
  cost: number;
  error: number;
  /** The scoring round it was evaluated in (see {@link EvaluationContext.round}). */
  round: number;
}

/** Outcome of {@link greedySearch}. */
export interface SearchResult {
  /** The found per-layer bits, for every layer the knobs name. */
  policy: BitPolicy;
  setting: Setting;
  /** Cost and evaluated error of the found policy. */
  cost: number;
  error: number;
  budget: number;
  /** Cost and error of the all-highest starting policy. */
  start: { cost: number; error: number };
  /** Lowest reachable cost: every searchable knob at its lowest candidate. */
  minCost: number;
  /** Cost target of phase 1 (`weights-then-activations`), else the budget. */
  phase1Target: number;
  trace: TraceStep[];
  /** Evaluator calls in total (forward passes the caller ran), including the starting policy. */
  evaluations: number;
  /** Candidate moves answered from the cache of already evaluated policies. */
  cacheHits: number;
  /** Every evaluated policy in evaluation order, e.g. for an error/cost plot with {@link paretoFront}. */
  evaluated: EvaluatedPoint[];
  /** `search`, or `reference <i>` when reference setting i had a lower error than the search's end point. */
  chosen: string;
  seconds: number;
}

interface Phase {
  phase: SearchPhase;
  knobs: number[];
  target: number;
}

interface Move {
  knob: number;
  direction: 'down' | 'up';
  next: number[];
}

/**
 * The step's move: lowest score, ties to the earlier move. With a noise floor, the moves whose
 * error is within `noise` of the best lowering error (`paper`), or whose error change is within
 * `noise` (`efficiency`, counted as 0), are ties, and among ties the lowest cost wins.
 */
function pickMove(
  moves: readonly Move[],
  scored: ReadonlyArray<{ error: number; cost: number }>,
  error: number,
  cost: number,
  noise: number,
  kind: 'paper' | 'efficiency',
  scoring: { costMax: number; errorWeight: number; normalization: ScoreNormalization },
): { index: number; scores: number[] } {
  const down = (i: number) => moves[i]!.direction === 'down';
  let errs = scored.map((m) => m.error);
  if (noise > 0) {
    if (kind === 'efficiency') errs = errs.map((e) => (Math.abs(e - error) <= noise ? error : e));
    else {
      // raises too: a raise within the noise of the best lowering is no better, and its cost term then loses
      const bestDown = Math.min(...errs.filter((_, i) => down(i)));
      errs = errs.map((e) => (Math.abs(e - bestDown) <= noise ? bestDown : e));
    }
  }
  const scores =
    kind === 'efficiency'
      ? scored.map((m, i) => (down(i) ? (errs[i]! - error) / Math.max(cost - m.cost, Number.MIN_VALUE) : Number.POSITIVE_INFINITY))
      : moveScores(
          scored.map((m, i) => ({ cost: m.cost, error: errs[i]! })),
          scoring,
        );
  let index = 0;
  for (let i = 1; i < scores.length; i++) {
    const better = scores[i]! < scores[index]!;
    const tieCheaper = noise > 0 && scores[i] === scores[index] && scored[i]!.cost < scored[index]!.cost;
    if (better || tieCheaper) index = i;
  }
  return { index, scores };
}

function checkOptions(o: SearchOptions): void {
  const num = (name: string, v: unknown, ok: (x: number) => boolean, expected: string) => {
    if (typeof v !== 'number' || !ok(v)) throw new LowbitError('E_ARG', `greedySearch: ${name} must be ${expected}, got ${String(v)}`);
  };
  num('budget', o.budget, (x) => Number.isFinite(x) && x > 0, 'a finite number > 0');
  if (typeof o.cost !== 'function') throw new LowbitError('E_ARG', `greedySearch: cost must be a cost model function, got ${typeof o.cost}`);
  if (o.kind !== undefined && o.kind !== 'bitops' && o.kind !== 'size') throw new LowbitError('E_ARG', `greedySearch: kind must be 'bitops' or 'size', got ${String(o.kind)}`);
  if (o.phases !== undefined && o.phases !== 'weights-then-activations' && o.phases !== 'joint') {
    throw new LowbitError('E_ARG', `greedySearch: phases must be 'weights-then-activations' or 'joint', got ${String(o.phases)}`);
  }
  if (o.normalization !== undefined && o.normalization !== 'max' && o.normalization !== 'range') {
    throw new LowbitError('E_ARG', `greedySearch: normalization must be 'max' or 'range', got ${String(o.normalization)}`);
  }
  if (o.weightShare !== undefined) num('weightShare', o.weightShare, (x) => x >= 0 && x <= 1, 'in [0, 1]');
  if (o.errorWeight !== undefined) num('errorWeight', o.errorWeight, (x) => Number.isFinite(x) && x >= 0, 'a finite number ≥ 0');
  if (o.scoring !== undefined && o.scoring !== 'paper' && o.scoring !== 'efficiency') throw new LowbitError('E_ARG', `greedySearch: scoring must be 'paper' or 'efficiency', got ${String(o.scoring)}`);
  if (o.maxSteps !== undefined) num('maxSteps', o.maxSteps, (x) => Number.isInteger(x) && x >= 0, 'an integer ≥ 0');
}

/**
 * Inference-only greedy mixed-precision search (Tang et al., "Retraining-free Model Quantization
 * via One-Shot Weight-Coupling Learning", CVPR 2024, stage 2).
 *
 * Starts from every knob at its highest candidate. Each step tries lowering — and, with
 * `allowRaise`, raising — each knob the phase may move by one candidate, scores every move by the
 * evaluator's error against the cost (see {@link moveScores}), and applies the best one (ties go
 * to the earlier knob, lowering before raising). A move that would return to an already visited
 * policy is never tried; a phase ends when its target holds or no lowering move is left.
 * Identical policies are evaluated once per search.
 *
 * @throws LowbitError `E_BUDGET` before any evaluation when even every searchable knob at its
 * lowest candidate exceeds the budget; `E_KNOB`/`E_ARG` for invalid knobs or options; `E_EVAL`
 * when the evaluator returns something other than a finite number ≥ 0; `E_COST` likewise for the
 * cost model.
 */
export async function greedySearch(knobs: readonly Knob[], evaluate: Evaluator, o: SearchOptions): Promise<SearchResult> {
  const t0 = performance.now();
  validateKnobs(knobs);
  checkOptions(o);
  const kind: CostKind = o.kind ?? o.cost.kind ?? 'bitops';
  const mode = o.phases ?? 'weights-then-activations';
  const allowRaise = o.allowRaise ?? true;

  const searchable = knobs.flatMap((k, i) => (k.candidates.length > 1 && (kind !== 'size' || k.kind === 'weight') ? [i] : []));
  const top = knobs.map((k) => k.candidates.length - 1);
  const settingOf = (idx: readonly number[]): Setting => Object.fromEntries(knobs.map((k, i) => [k.id, k.candidates[idx[i]!]!]));
  const keyOf = (idx: readonly number[]) => idx.join(',');
  const costOf = (idx: readonly number[]): number => settingCost(knobs, o.cost, settingOf(idx));

  let current = top.slice();
  const { minCost, maxCost: costMax } = checkBudget(knobs, o.cost, o.budget, { kind: o.kind ?? o.cost.kind });
  const scoring = { costMax, errorWeight: o.errorWeight ?? 1.5, normalization: o.normalization ?? 'max' };

  const cache = new Map<string, number>();
  const evaluated: EvaluatedPoint[] = [];
  let evaluations = 0;
  let cacheHits = 0;
  let round = 0;
  const resample = o.resample ?? false;
  const noiseAt = (e: number): number => {
    if (!o.noise) return 0;
    const n = o.noise(e);
    if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) throw new LowbitError('E_ARG', `greedySearch: noise(${e}) returned ${String(n)}; expected a finite number ≥ 0`);
    return n;
  };
  const errorOf = async (idx: readonly number[], cost: number): Promise<number> => {
    const key = resample ? `${round}:${keyOf(idx)}` : keyOf(idx);
    const hit = cache.get(key);
    if (hit !== undefined) {
      cacheHits++;
      return hit;
    }
    // let pending events run (a Ctrl-C handler, an abort from a page's button) before each forward pass
    await yieldToEventLoop();
    if (o.signal?.aborted) throw new LowbitError('E_ABORTED', `greedy search aborted after ${evaluations} evaluations`);
    const setting = settingOf(idx);
    const e = await evaluate(policyFromKnobs(knobs, setting), { setting, cost, round });
    if (typeof e !== 'number' || !Number.isFinite(e) || e < 0) {
      throw new LowbitError('E_EVAL', `the evaluator returned ${String(e)} for setting ${JSON.stringify(setting)}; expected a finite error ≥ 0`);
    }
    evaluations++;
    cache.set(key, e);
    evaluated.push({ setting, cost, error: e, round });
    return e;
  };

  let cost = costMax;
  let error = await errorOf(current, cost);
  const start = { cost, error };
  const trace: TraceStep[] = [];
  const visited = new Set([keyOf(current)]);

  const weights = searchable.filter((i) => knobs[i]!.kind === 'weight');
  const activations = searchable.filter((i) => knobs[i]!.kind === 'activation');
  const phase1Target = mode === 'joint' || kind === 'size' ? o.budget : costMax * (o.budget / costMax) ** (o.weightShare ?? 0.5);
  const plan: Phase[] =
    mode === 'joint'
      ? [{ phase: 3, knobs: searchable, target: o.budget }]
      : kind === 'size'
        ? [{ phase: 1, knobs: weights, target: o.budget }]
        : [
            { phase: 1, knobs: weights, target: phase1Target },
            { phase: 2, knobs: activations, target: o.budget },
            { phase: 3, knobs: searchable, target: o.budget },
          ];
  const maxSteps = o.maxSteps ?? 2 * searchable.reduce((s, i) => s + top[i]!, 0);
  let descent = false;

  for (let p = 0; p < plan.length; p++) {
    const phase = plan[p]!;
    const last = p === plan.length - 1;
    while (cost > phase.target) {
      if (trace.length >= maxSteps) descent = true;
      const moves: Move[] = [];
      for (const k of phase.knobs) {
        const at = current[k]!;
        if (at > 0) {
          const next = current.slice();
          next[k] = at - 1;
          if (descent || !visited.has(keyOf(next))) moves.push({ knob: k, direction: 'down', next });
        }
        if (allowRaise && !descent && at < top[k]!) {
          const next = current.slice();
          next[k] = at + 1;
          if (!visited.has(keyOf(next))) moves.push({ knob: k, direction: 'up', next });
        }
      }
      if (!moves.some((m) => m.direction === 'down')) {
        if (last && !descent) {
          descent = true;
          continue;
        }
        break;
      }
      const [evals0, hits0] = [evaluations, cacheHits];
      round++;
      if (resample) error = await errorOf(current, cost);
      const scored: Array<{ error: number; cost: number }> = [];
      for (const m of moves) {
        const c = costOf(m.next);
        scored.push({ cost: c, error: await errorOf(m.next, c) });
      }
      const best = pickMove(moves, scored, error, cost, noiseAt(error), o.scoring ?? 'paper', scoring);
      const scores = best.scores;
      const m = moves[best.index]!;
      const knob = knobs[m.knob]!;
      const from = knob.candidates[current[m.knob]!]!;
      current = m.next;
      visited.add(keyOf(current));
      cost = scored[best.index]!.cost;
      error = scored[best.index]!.error;
      const step: TraceStep = {
        step: trace.length + 1,
        phase: phase.phase,
        knob: knob.id,
        direction: m.direction,
        from,
        to: knob.candidates[current[m.knob]!]!,
        error,
        cost,
        score: scores[best.index]!,
        moves: moves.length,
        evaluations: evaluations - evals0,
        cacheHits: cacheHits - hits0,
        descent,
      };
      trace.push(step);
      o.onStep?.({ ...step });
    }
  }
  if (cost <= o.budget && (o.fill ?? false)) {
    for (;;) {
      const [evals0, hits0] = [evaluations, cacheHits];
      round++;
      if (resample) error = await errorOf(current, cost);
      let best: { knob: number; next: number[]; cost: number; error: number } | null = null;
      let tried = 0;
      for (const k of searchable) {
        if (current[k]! >= top[k]!) continue;
        const next = current.slice();
        next[k] = current[k]! + 1;
        if (visited.has(keyOf(next))) continue;
        const c = costOf(next);
        if (c > o.budget) continue;
        tried++;
        const e = await errorOf(next, c);
        if (!best || e < best.error) best = { knob: k, next, cost: c, error: e };
      }
      if (!best || best.error >= error - noiseAt(error)) break;
      const knob = knobs[best.knob]!;
      const from = knob.candidates[current[best.knob]!]!;
      current = best.next;
      visited.add(keyOf(current));
      cost = best.cost;
      error = best.error;
      const step: TraceStep = {
        step: trace.length + 1,
        phase: 4,
        knob: knob.id,
        direction: 'up',
        from,
        to: knob.candidates[current[best.knob]!]!,
        error,
        cost,
        score: Number.NaN,
        moves: tried,
        evaluations: evaluations - evals0,
        cacheHits: cacheHits - hits0,
        descent,
      };
      trace.push(step);
      o.onStep?.({ ...step });
    }
  }
  let chosen = 'search';
  if ((o.references ?? []).length > 0) {
    round++;
    if (resample) error = await errorOf(current, cost);
  }
  const endError = error;
  for (const [i, ref] of (o.references ?? []).entries()) {
    const idx = knobs.map((k) => {
      const b = ref[k.id] ?? k.candidates[k.candidates.length - 1]!;
      const at = k.candidates.indexOf(b);
      if (at < 0) throw new LowbitError('E_ARG', `greedySearch: reference ${i} sets knob '${k.id}' to ${b}, not one of its candidates (${k.candidates.join(', ')})`);
      return at;
    });
    const c = costOf(idx);
    if (c > o.budget) throw new LowbitError('E_BUDGET', `greedySearch: reference ${i} costs ${c}, above the budget ${o.budget}`);
    const e = await errorOf(idx, c);
    if (e < error && e < endError - noiseAt(endError)) {
      current = idx;
      cost = c;
      error = e;
      chosen = `reference ${i}`;
    }
  }
  if (cost > o.budget) {
    // Unreachable for cost models that do not grow when bits are lowered: descent mode ends at the lowest setting.
    throw new LowbitError('E_STATE', `greedy search ended at cost ${cost} above the budget ${o.budget}; is the cost model non-monotone in the bits?`);
  }
  const setting = settingOf(current);
  return {
    policy: policyFromKnobs(knobs, setting),
    setting,
    cost,
    error,
    budget: o.budget,
    start,
    minCost,
    phase1Target,
    trace,
    evaluations,
    cacheHits,
    evaluated,
    chosen,
    seconds: (performance.now() - t0) / 1000,
  };
}
