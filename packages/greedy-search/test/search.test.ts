import { mbv2FmSpec, resnetFmSpec } from '@lowbit/models';
import { type BitPolicy, layerCosts, type NetworkSpec } from '@lowbit/nn';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bitOpsCost,
  costText,
  defaultKnobs,
  type Evaluator,
  greedySearch,
  highestSetting,
  type Knob,
  knobsFor,
  lowestSetting,
  policyFromKnobs,
  searchPath,
  type SearchResult,
  type Setting,
  sizeCost,
  uniformSetting,
} from '../src/index.js';
import { allSettings, hash01, linearCost, tableKnobs } from './fixtures.js';

/** A smooth synthetic error: per-layer sensitivities (from the layer name) times 2^−bits, weights and activations. */
function smoothError(o: { actScale?: number; noise?: number } = {}): (policy: BitPolicy) => number {
  return (policy: BitPolicy) => {
    let e = 0.05;
    for (const [name, b] of Object.entries(policy)) {
      const s = 0.5 + hash01(name);
      e += s * 2 ** -b.w + (o.actScale ?? 1) * s * 2 ** -b.a;
    }
    return e * (1 + (o.noise ?? 0) * (hash01(JSON.stringify(policy)) - 0.5));
  };
}

const costOfSetting = (spec: NetworkSpec, knobs: Knob[], s: Setting) => bitOpsCost(spec)(policyFromKnobs(knobs, s));

/** Replays a trace from the all-highest setting; checks each move is one candidate step of one knob. */
function replay(knobs: Knob[], r: SearchResult): Setting[] {
  const byId = new Map(knobs.map((k) => [k.id, k]));
  let s = highestSetting(knobs);
  const path = [s];
  for (const step of r.trace) {
    const k = byId.get(step.knob)!;
    expect(s[step.knob]).toBe(step.from);
    const di = k.candidates.indexOf(step.to) - k.candidates.indexOf(step.from);
    expect(di).toBe(step.direction === 'down' ? -1 : 1);
    s = { ...s, [step.knob]: step.to };
    path.push(s);
  }
  expect(s).toEqual(r.setting);
  return path;
}

describe('greedySearch on synthetic tables', () => {
  const cands = [2, 3, 4, 5, 6];
  /** Knob k's error at bits b: the sum of its first (6 − b) increments, which grow as bits fall (convex). */
  const tableError = (inc: number[][], base: number) => (policy: BitPolicy) =>
    inc.reduce((s, d, k) => s + d.slice(0, 6 - policy[`k${k}`]!.w).reduce((a, x) => a + x, 0), base);
  const increments = (max: number) =>
    fc.array(fc.array(fc.double({ min: 0.01, max, noNaN: true }), { minLength: 4, maxLength: 4 }), { minLength: 4, maxLength: 4 }).map((a) => a.map((d) => d.slice().sort((x, y) => x - y)));

  function bruteForce(inc: number[][], base: number, budget: number): number {
    let best = Number.POSITIVE_INFINITY;
    for (const bits of allSettings(4, cands)) {
      if (bits.reduce((a, b) => a + b, 0) > budget) continue;
      const policy = Object.fromEntries(bits.map((b, k) => [`k${k}`, { w: b, a: 32 }]));
      best = Math.min(best, tableError(inc, base)(policy));
    }
    return best;
  }

  it('separable convex errors with equal step costs: greedy (lowering only) reaches the brute-force optimum', async () => {
    await fc.assert(
      fc.asyncProperty(increments(10), fc.integer({ min: 8, max: 23 }), fc.constantFrom('weights-then-activations' as const, 'joint' as const), async (inc, budget, phases) => {
        const r = await greedySearch(tableKnobs(4, cands), tableError(inc, 0), { budget, cost: linearCost([1, 1, 1, 1], { kind: 'size' }), allowRaise: false, phases });
        expect(r.cost).toBeLessThanOrEqual(budget);
        expect(r.cost).toBe(budget);
        expect(r.error).toBeCloseTo(bruteForce(inc, 0, budget), 9);
        expect(r.trace).toHaveLength(24 - budget);
      }),
      { numRuns: 60, seed: 42 },
    );
  });

  it('searchPath replays the trace from the start to the end point: each step one knob moved, its cost and error', async () => {
    await fc.assert(
      fc.asyncProperty(increments(3), fc.integer({ min: 8, max: 23 }), async (inc, budget) => {
        const knobs = tableKnobs(4, cands);
        const cost = linearCost([1, 1, 1, 1], { kind: 'size' });
        const r = await greedySearch(knobs, tableError(inc, 1), { budget, cost });
        const path = searchPath(knobs, r);
        expect(path).toHaveLength(r.trace.length + 1);
        expect(path[0]).toEqual({ setting: highestSetting(knobs), cost: r.start.cost, error: r.start.error });
        expect(path[path.length - 1]!.setting).toEqual(r.setting);
        for (let i = 1; i < path.length; i++) {
          const moved = Object.keys(path[i]!.setting).filter((k) => path[i]!.setting[k] !== path[i - 1]!.setting[k]);
          expect(moved).toEqual([r.trace[i - 1]!.knob]);
          // the recorded cost and error are those of the setting the path is at
          expect(path[i]!.cost).toBe(cost(policyFromKnobs(knobs, path[i]!.setting)));
          expect(path[i]!.error).toBeCloseTo(tableError(inc, 1)(policyFromKnobs(knobs, path[i]!.setting)), 12);
        }
      }),
      { numRuns: 30, seed: 3 },
    );
  });

  it('searchPath refuses a trace that does not start where the search starts', () => {
    const knobs = tableKnobs(2, [4, 8]);
    const step = { step: 1, phase: 1 as const, knob: 'w:k0', direction: 'down' as const, from: 4, to: 2, error: 0, cost: 0, score: 0, moves: 1, evaluations: 1, cacheHits: 0, descent: false };
    expect(() => searchPath(knobs, { start: { cost: 1, error: 0 }, trace: [step] })).toThrow(/trace step 1 moves 'w:k0' from 4 bits, but the path has it at 8/);
    expect(() => searchPath(knobs, { start: { cost: 1, error: 0 }, trace: [{ ...step, knob: 'w:k9', from: 8 }] })).toThrow(/trace step 1 moves 'w:k9', which is not one of the knobs/);
  });

  it('with raising allowed it still reaches the optimum when no raise pays off (errors small against a base error)', async () => {
    await fc.assert(
      fc.asyncProperty(increments(2), fc.integer({ min: 8, max: 23 }), async (inc, budget) => {
        const r = await greedySearch(tableKnobs(4, cands), tableError(inc, 100), { budget, cost: linearCost([1, 1, 1, 1], { kind: 'size' }) });
        expect(r.trace.every((s) => s.direction === 'down')).toBe(true);
        expect(r.error).toBeCloseTo(bruteForce(inc, 100, budget), 9);
      }),
      { numRuns: 40, seed: 7 },
    );
  });

  it('the score prefers the move that saves more cost per error over the lowest-error move', async () => {
    // Lowering k0 saves 40 of cost_max 100 for error 1.2; lowering k1 saves 10 for error 1.1.
    const knobs = tableKnobs(2, [4, 8]);
    const cost = linearCost([10, 2.5]);
    const table: Record<string, number> = { '8,8': 1, '4,8': 1.2, '8,4': 1.1 };
    const evaluate = (p: BitPolicy) => table[`${p['k0']!.w},${p['k1']!.w}`]!;
    const r = await greedySearch(knobs, evaluate, { budget: 95, cost });
    expect(r.trace).toHaveLength(1);
    // 1.5·1.2/1.2 − (1 − 60/100) = 1.1  <  1.5·1.1/1.2 − (1 − 90/100) = 1.275
    expect(r.trace[0]).toMatchObject({ knob: 'w:k0', from: 8, to: 4, error: 1.2, cost: 60 });
    expect(r.trace[0]!.score).toBeCloseTo(1.1, 12);
    // A heavy error weight turns it into "lowest error first": 10 − 0.4 = 9.6 > 10·1.1/1.2 − 0.1 ≈ 9.07.
    const heavy = await greedySearch(knobs, evaluate, { budget: 95, cost, errorWeight: 10 });
    expect(heavy.trace[0]).toMatchObject({ knob: 'w:k1', error: 1.1, cost: 90 });
    expect(heavy.trace[0]!.score).toBeCloseTo((10 * 1.1) / 1.2 - 0.1, 12);
    // Min–max normalization over the step's moves: k0 gets 1.5·1 − 1 = 0.5, k1 gets 0 − 0 = 0.
    const range = await greedySearch(knobs, evaluate, { budget: 95, cost, normalization: 'range' });
    expect(range.trace[0]).toMatchObject({ knob: 'w:k1', score: 0 });
  });

  it('ties go to the earlier knob', async () => {
    const r = await greedySearch(tableKnobs(3, [2, 4]), () => 1, { budget: 11, cost: linearCost([1, 1, 1]) });
    expect(r.trace.map((s) => s.knob)).toEqual(['w:k0']);
  });
});

describe('greedySearch phases', () => {
  it('weights then activations: phase 1 moves weight knobs down to cost_max·r^½, phase 2 activations to the budget', async () => {
    const spec = resnetFmSpec();
    const knobs = defaultKnobs(spec);
    const cost = bitOpsCost(spec);
    const budget = costOfSetting(spec, knobs, uniformSetting(knobs, 4));
    const steps: unknown[] = [];
    const r = await greedySearch(knobs, smoothError(), { budget, cost, onStep: (s) => steps.push(s) });
    expect(steps).toEqual(r.trace);
    const costMax = costOfSetting(spec, knobs, highestSetting(knobs));
    expect(r.start.cost).toBe(costMax);
    expect(r.phase1Target).toBeCloseTo(Math.sqrt(costMax * budget), 3);
    const p1 = r.trace.filter((s) => s.phase === 1);
    const p2 = r.trace.filter((s) => s.phase === 2);
    expect(p1.length).toBeGreaterThan(0);
    expect(p2.length).toBeGreaterThan(0);
    expect(r.trace.map((s) => s.phase)).toEqual([...p1.map(() => 1), ...p2.map(() => 2)]);
    expect(p1.every((s) => s.knob.startsWith('w:'))).toBe(true);
    expect(p2.every((s) => s.knob.startsWith('a:'))).toBe(true);
    expect(p1.slice(0, -1).every((s) => s.cost > r.phase1Target)).toBe(true);
    expect(p1[p1.length - 1]!.cost).toBeLessThanOrEqual(r.phase1Target);
    expect(r.trace.slice(0, -1).every((s) => s.cost > budget)).toBe(true);
    expect(r.cost).toBeLessThanOrEqual(budget);
    expect(r.cost).toBe(cost(r.policy));
    expect(r.error).toBe(smoothError()(r.policy));
    // Fixed knobs never move; consumers of one site share its bits.
    expect(r.policy['stem/conv']).toEqual({ w: 8, a: 32 });
    expect(r.policy['head/fc']).toEqual({ w: 8, a: 8 });
    expect(r.policy['block2/conv1']!.a).toBe(r.policy['block2/proj']!.a);
    expect(r.policy['block3/conv1']!.a).toBe(r.policy['block3/proj']!.a);
    replay(knobs, r);
  });

  it('phase 3 moves any knob once phase 2 has run out of activation moves', async () => {
    const spec = resnetFmSpec();
    const knobs = knobsFor(spec, {
      weightCandidates: (l, all) => (l.position === 0 || l.position === all.length - 1 ? [8] : [2, 3, 4, 5, 6]),
      activationCandidates: (s, consumers, all) => (s.isInput ? [32] : consumers.some((c) => c.position === all.length - 1) ? [8] : [5, 6]),
    });
    const budget = costOfSetting(spec, knobs, { ...uniformSetting(knobs, 4), ...Object.fromEntries(knobs.filter((k) => k.kind === 'activation').map((k) => [k.id, k.candidates[0]!])) });
    const r = await greedySearch(knobs, smoothError(), { budget, cost: bitOpsCost(spec), allowRaise: false });
    const phases = r.trace.map((s) => s.phase);
    expect(phases).toEqual([...phases].sort());
    const p2 = r.trace.filter((s) => s.phase === 2);
    const p3 = r.trace.filter((s) => s.phase === 3);
    expect(p2.map((s) => s.knob).sort()).toEqual(knobs.filter((k) => k.kind === 'activation' && k.candidates.length > 1).map((k) => k.id).sort());
    expect(p3.length).toBeGreaterThan(0);
    expect(p3.every((s) => s.knob.startsWith('w:') && s.direction === 'down')).toBe(true);
    expect(p3[0]!.cost).toBeLessThan(p2[p2.length - 1]!.cost);
    expect(r.cost).toBeLessThanOrEqual(budget);
  });

  it('joint mode moves any knob at every step', async () => {
    const spec = resnetFmSpec();
    const knobs = defaultKnobs(spec);
    const budget = costOfSetting(spec, knobs, uniformSetting(knobs, 3));
    const evaluate = smoothError({ actScale: 0.001 }); // activations barely matter
    const joint = await greedySearch(knobs, evaluate, { budget, cost: bitOpsCost(spec), phases: 'joint' });
    expect(joint.trace.every((s) => s.phase === 3)).toBe(true);
    expect(joint.phase1Target).toBe(budget);
    expect(joint.trace[0]!.knob.startsWith('a:')).toBe(true);
    expect(joint.trace.some((s) => s.knob.startsWith('w:'))).toBe(true);
    expect(joint.cost).toBeLessThanOrEqual(budget);
    const staged = await greedySearch(knobs, evaluate, { budget, cost: bitOpsCost(spec) });
    expect(staged.trace[0]!.knob.startsWith('w:')).toBe(true);
    // Cheap activations, all lowered first in joint mode, make joint better here.
    expect(joint.error).toBeLessThan(staged.error);
  });

  it('weightShare 1 puts the whole budget on weights, 0 skips phase 1', async () => {
    const spec = resnetFmSpec();
    const knobs = defaultKnobs(spec);
    const budget = costOfSetting(spec, knobs, uniformSetting(knobs, 5));
    const all = await greedySearch(knobs, smoothError(), { budget, cost: bitOpsCost(spec), weightShare: 1, allowRaise: false });
    expect(all.trace.every((s) => s.phase === 1 && s.knob.startsWith('w:'))).toBe(true);
    expect(all.phase1Target).toBeCloseTo(budget, 3);
    const none = await greedySearch(knobs, smoothError(), { budget, cost: bitOpsCost(spec), weightShare: 0, allowRaise: false });
    expect(none.trace[0]!.phase).toBe(2);
    expect(none.trace.every((s) => s.knob.startsWith('a:'))).toBe(true);
  });

  it('a size budget moves weight knobs only, in phase 1, down to the budget', async () => {
    const spec = mbv2FmSpec();
    const knobs = defaultKnobs(spec);
    const cost = sizeCost(spec);
    const budget = cost(policyFromKnobs(knobs, uniformSetting(knobs, 3)));
    const r = await greedySearch(knobs, smoothError(), { budget, cost });
    expect(r.phase1Target).toBe(budget);
    expect(r.trace.length).toBeGreaterThan(0);
    expect(r.trace.every((s) => s.phase === 1 && s.knob.startsWith('w:'))).toBe(true);
    for (const k of knobs.filter((x) => x.kind === 'activation')) expect(r.setting[k.id]).toBe(k.candidates[k.candidates.length - 1]);
    expect(r.cost).toBeLessThanOrEqual(budget);
    expect(r.minCost).toBe(cost(policyFromKnobs(knobs, lowestSetting(knobs))));
    // Depthwise weights never go below 3 bits.
    for (const l of layerCosts(spec).filter((x) => x.op === 'depthwiseConv2d')) expect(r.policy[l.name]!.w).toBeGreaterThanOrEqual(3);
  });
});

describe('greedySearch budgets and bookkeeping', () => {
  const spec = resnetFmSpec();
  const knobs = defaultKnobs(spec);
  const cost = bitOpsCost(spec);

  it('an unreachable budget is an error before the evaluator is ever called', async () => {
    const minCost = costOfSetting(spec, knobs, lowestSetting(knobs));
    let calls = 0;
    const evaluate = () => ++calls;
    await expect(greedySearch(knobs, evaluate, { budget: minCost - 1, cost })).rejects.toMatchObject({
      name: 'LowbitError',
      code: 'E_BUDGET',
      details: { budget: minCost - 1, minCost },
    });
    await expect(greedySearch(knobs, evaluate, { budget: minCost - 1, cost })).rejects.toThrow(
      `a budget of ${costText('bitops', minCost - 1)} cannot be met: with every searchable layer at its lowest bits the network costs ${costText('bitops', minCost)}`,
    );
    expect(calls).toBe(0);
    // Exactly the minimum is reachable: every searchable knob ends at its lowest candidate.
    const r = await greedySearch(knobs, smoothError(), { budget: minCost, cost });
    expect(r.setting).toEqual(lowestSetting(knobs));
  });

  it('when the all-highest policy meets the budget it is returned after one evaluation', async () => {
    let calls = 0;
    const costMax = costOfSetting(spec, knobs, highestSetting(knobs));
    const r = await greedySearch(knobs, async () => ++calls * 0.25, { budget: costMax, cost });
    expect(r.trace).toEqual([]);
    expect(r.setting).toEqual(highestSetting(knobs));
    expect(r).toMatchObject({ evaluations: 1, cacheHits: 0, error: 0.25, cost: costMax, start: { cost: costMax, error: 0.25 } });
    expect(calls).toBe(1);
  });

  it('is deterministic: the same inputs give the same trace', async () => {
    const spec2 = mbv2FmSpec();
    const knobs2 = defaultKnobs(spec2);
    const budget = costOfSetting(spec2, knobs2, uniformSetting(knobs2, 4));
    const run = () => greedySearch(knobs2, smoothError({ noise: 0.05 }), { budget, cost: bitOpsCost(spec2) });
    const [a, b] = [await run(), await run()];
    expect(a.trace).toEqual(b.trace);
    expect(a.setting).toEqual(b.setting);
    expect(a.evaluated).toEqual(b.evaluated);
    expect(a.trace.some((s) => s.direction === 'up')).toBe(true);
  });

  it('never revisits a policy, caches repeated policies, and counts evaluator calls exactly', async () => {
    const budget = costOfSetting(spec, knobs, uniformSetting(knobs, 4));
    let calls = 0;
    const seen = new Set<string>();
    const inner = smoothError({ noise: 0.05 });
    const evaluate: Evaluator = (policy, ctx) => {
      calls++;
      const key = JSON.stringify(ctx.setting);
      expect(seen.has(key)).toBe(false); // the cache answers repeats
      seen.add(key);
      expect(ctx.cost).toBe(cost(policy));
      expect(policy).toEqual(policyFromKnobs(knobs, ctx.setting));
      return inner(policy);
    };
    const r = await greedySearch(knobs, evaluate, { budget, cost });
    const ups = r.trace.filter((s) => s.direction === 'up').length;
    expect(ups).toBeGreaterThan(0);
    // Up to the first descent step (noise makes raises win often, so the default maxSteps ends the walk) no policy repeats.
    const descentAt = r.trace.findIndex((s) => s.descent);
    const path = replay(knobs, r).map((s) => JSON.stringify(s));
    const before = path.slice(0, descentAt === -1 ? undefined : descentAt + 1);
    expect(before.length).toBeGreaterThan(50);
    expect(new Set(before).size).toBe(before.length);
    expect(calls).toBe(r.evaluations);
    expect(r.evaluated).toHaveLength(calls);
    expect(r.trace.reduce((s, t) => s + t.evaluations, 1)).toBe(r.evaluations);
    expect(r.trace.reduce((s, t) => s + t.cacheHits, 0)).toBe(r.cacheHits);
    expect(r.evaluations + r.cacheHits).toBe(1 + r.trace.reduce((s, t) => s + t.moves, 0));
    expect(r.cacheHits).toBeGreaterThan(0);
    expect(r.cost).toBeLessThanOrEqual(budget);
  });

  it('after maxSteps moves only lowering moves are tried (descent mode)', async () => {
    const budget = costOfSetting(spec, knobs, uniformSetting(knobs, 4));
    const r = await greedySearch(knobs, smoothError({ noise: 0.05 }), { budget, cost, maxSteps: 6 });
    expect(r.trace.slice(0, 6).every((s) => !s.descent)).toBe(true);
    expect(r.trace.slice(6).every((s) => s.descent && s.direction === 'down')).toBe(true);
    expect(r.trace.length).toBeGreaterThan(6);
    expect(r.cost).toBeLessThanOrEqual(budget);
    const plain = await greedySearch(knobs, smoothError({ noise: 0.05 }), { budget, cost, maxSteps: 0 });
    expect(plain.trace.every((s) => s.descent && s.direction === 'down')).toBe(true);
    const noRaise = await greedySearch(knobs, smoothError({ noise: 0.05 }), { budget, cost, allowRaise: false });
    expect(plain.trace).toEqual(noRaise.trace.map((s) => ({ ...s, descent: true })));
  });

  it('a dead end after a raise switches to descent mode, which may step back onto a visited policy', async () => {
    // One layer x; knob w:x sets its weights, a:x its input activation; cost = w + a; budget 2 = both at 1.
    const two: Knob[] = [
      { id: 'w:x', kind: 'weight', layers: ['x'], candidates: [1, 2, 3] },
      { id: 'a:x', kind: 'activation', layers: ['x'], candidates: [1, 2, 3] },
    ];
    const table: Record<string, number> = { '3,3': 0, '3,2': 1, '2,3': 2, '2,2': 1, '3,1': 1.2, '1,2': 50, '2,1': 1.5, '1,1': 100 };
    const r = await greedySearch(two, (p) => table[`${p['x']!.w},${p['x']!.a}`]!, { budget: 2, cost: (p) => p['x']!.w + p['x']!.a, phases: 'joint' });
    expect(r.trace.map((s) => [s.knob, s.from, s.to, s.descent])).toEqual([
      ['a:x', 3, 2, false],
      ['w:x', 3, 2, false],
      ['a:x', 2, 1, false],
      ['w:x', 2, 3, false], // (2,1) → (3,1): raising beats the 100-error lowering
      ['w:x', 3, 2, true], // (3,1) has no unvisited neighbour: descent, back onto (2,1)
      ['w:x', 2, 1, true],
    ]);
    expect(r).toMatchObject({ cost: 2, error: 100, evaluations: 8, cacheHits: 4 });
  });

  it('rejects bad evaluator values, cost values and options', async () => {
    const budget = costOfSetting(spec, knobs, uniformSetting(knobs, 4));
    await expect(greedySearch(knobs, () => Number.NaN, { budget, cost })).rejects.toMatchObject({ code: 'E_EVAL' });
    await expect(greedySearch(knobs, () => -0.5, { budget, cost })).rejects.toThrow(/evaluator returned -0.5 .* expected a finite error ≥ 0/);
    await expect(greedySearch(knobs, () => 1, { budget, cost: () => Number.POSITIVE_INFINITY })).rejects.toMatchObject({ code: 'E_COST' });
    for (const bad of [{ budget: 0 }, { budget: Number.NaN }, { weightShare: 1.5 }, { errorWeight: -1 }, { maxSteps: 2.5 }, { phases: 'random' }, { kind: 'latency' }]) {
      await expect(greedySearch(knobs, () => 1, { budget, cost, ...bad } as never)).rejects.toMatchObject({ code: 'E_ARG' });
    }
    await expect(greedySearch([...knobs, knobs[0]!], () => 1, { budget, cost })).rejects.toMatchObject({ code: 'E_KNOB' });
  });
});

describe('fill phase and reference settings', () => {
  const spec = resnetFmSpec();
  const knobs = defaultKnobs(spec);
  const cost = bitOpsCost(spec);
  const budget = costOfSetting(spec, knobs, uniformSetting(knobs, 3));

  it('fill spends the leftover budget on raises that lower the error, never exceeding the budget', async () => {
    const evaluate: Evaluator = smoothError();
    const plain = await greedySearch(knobs, evaluate, { budget, cost, allowRaise: false });
    const filled = await greedySearch(knobs, evaluate, { budget, cost, allowRaise: false, fill: true });
    const fills = filled.trace.filter((t) => t.phase === 4);
    expect(fills.length).toBeGreaterThan(0);
    for (const t of fills) {
      expect(t.direction).toBe('up');
      expect(t.cost).toBeLessThanOrEqual(budget);
    }
    // each fill move lowers the error
    let prev = plain.error;
    for (const t of fills) {
      expect(t.error).toBeLessThan(prev);
      prev = t.error;
    }
    expect(filled.cost).toBeGreaterThanOrEqual(plain.cost);
    expect(filled.cost).toBeLessThanOrEqual(budget);
    expect(filled.error).toBeLessThan(plain.error);
    replay(knobs, filled);
  });

  it('returns a reference setting when it beats the search end point, and rejects references above the budget', async () => {
    const uniform = uniformSetting(knobs, 3);
    const uniformPolicy = JSON.stringify(policyFromKnobs(knobs, uniform));
    // an evaluator under which the uniform policy is the best of all: error grows with distance from it
    const evaluate: Evaluator = (p) => (JSON.stringify(p) === uniformPolicy ? 0.001 : 0.5 + smoothError()(p));
    const r = await greedySearch(knobs, evaluate, { budget, cost, allowRaise: false, references: [uniform] });
    expect(r.chosen).toBe('reference 0');
    expect(r.setting).toEqual(uniform);
    expect(r.error).toBe(0.001);
    const normal = await greedySearch(knobs, smoothError(), { budget, cost, allowRaise: false, references: [uniform] });
    expect(normal.error).toBeLessThanOrEqual(smoothError()(policyFromKnobs(knobs, uniform)));
    await expect(greedySearch(knobs, smoothError(), { budget, cost, references: [uniformSetting(knobs, 4)] })).rejects.toThrow(/above the budget/);
  });
});

describe('efficiency scoring', () => {
  it('lowers the knob with the least error per cost saved first, and on a separable table meets the budget at no more error than the paper score', async () => {
    // two weight knobs: k0 costs 10 units per bit and hurts 1 per bit; k1 costs 1 unit per bit and hurts 0.5 per bit
    const knobs = tableKnobs(2, [2, 3, 4, 5, 6]);
    const cost = linearCost([10, 1]);
    const err = (p: BitPolicy) => 1 * (6 - p['k0']!.w) + 0.5 * (6 - p['k1']!.w);
    const budget = cost(policyFromKnobs(knobs, { 'w:k0': 4, 'w:k1': 6 }));
    const eff = await greedySearch(knobs, err, { budget, cost, allowRaise: false, scoring: 'efficiency', phases: 'joint' });
    expect(eff.trace[0]!.knob).toBe('w:k0');
    const paper = await greedySearch(knobs, err, { budget, cost, allowRaise: false, phases: 'joint' });
    expect(paper.trace[0]!.knob).toBe('w:k1');
    expect(eff.error).toBeLessThan(paper.error);
    expect(eff.cost).toBeLessThanOrEqual(budget);
    await expect(greedySearch(knobs, err, { budget, cost, scoring: 'best' as 'paper' })).rejects.toThrow(/scoring must be/);
  });
});

describe('resampled rounds and a noise floor', () => {
  it('resample: every step scores the current policy and its moves in a new round; the cache holds only within a round', async () => {
    const knobs = tableKnobs(3, [2, 4, 8]);
    const cost = linearCost([1, 2, 3]);
    const calls: Array<{ round: number; key: string }> = [];
    // the error depends on the round (a different batch each step): a constant offset per round
    const evaluate: Evaluator = (p, ctx) => {
      const key = `${p['k0']!.w},${p['k1']!.w},${p['k2']!.w}`;
      calls.push({ round: ctx.round, key });
      return 10 * ctx.round + (8 - p['k0']!.w) + 2 * (8 - p['k1']!.w) + 0.5 * (8 - p['k2']!.w);
    };
    const r = await greedySearch(knobs, evaluate, { budget: 30, cost, allowRaise: false, resample: true, phases: 'joint' });
    const rounds = [...new Set(calls.map((c) => c.round))];
    expect(rounds).toEqual(Array.from({ length: r.trace.length + 1 }, (_, i) => i));
    // each step: the current policy again, then each move, all in that step's round
    for (const [i, step] of r.trace.entries()) {
      const inRound = calls.filter((c) => c.round === i + 1);
      expect(inRound.length).toBe(step.moves + 1);
      expect(step.error).toBeGreaterThanOrEqual(10 * (i + 1));
    }
    // the choices are those of the round-free search: a per-round offset changes no comparison
    const plain = await greedySearch(knobs, (p) => (8 - p['k0']!.w) + 2 * (8 - p['k1']!.w) + 0.5 * (8 - p['k2']!.w), { budget: 30, cost, allowRaise: false, phases: 'joint' });
    expect(r.trace.map((s) => s.knob)).toEqual(plain.trace.map((s) => s.knob));
    expect(r.setting).toEqual(plain.setting);
    expect(r.evaluated.every((e) => e.round >= 0)).toBe(true);
  });

  it('noise floor: lowering moves within the noise of the best are ties and the one saving most wins; fill and references need a gain above the noise', async () => {
    // k0 saves 4 per step and costs error 1.02; k1 saves 1 and costs error 1.0 (paper score: nearly the lowest error wins)
    const knobs = tableKnobs(2, [4, 8]);
    const cost = linearCost([1, 0.25]);
    const table: Record<string, number> = { '8,8': 1, '4,8': 1.02, '8,4': 1.0, '4,4': 1.05 };
    const evaluate = (p: BitPolicy) => table[`${p['k0']!.w},${p['k1']!.w}`]!;
    const heavy = { budget: 9, cost, errorWeight: 100 } as const;
    const without = await greedySearch(knobs, evaluate, heavy);
    expect(without.trace[0]!.knob).toBe('w:k1');
    const withNoise = await greedySearch(knobs, evaluate, { ...heavy, noise: () => 0.05 });
    expect(withNoise.trace[0]!.knob).toBe('w:k0');
    const small = await greedySearch(knobs, evaluate, { ...heavy, noise: () => 0.01 });
    expect(small.trace[0]!.knob).toBe('w:k1');
    // efficiency: an increase within the noise counts as 0, and the larger saving wins the tie
    const eff = await greedySearch(knobs, evaluate, { budget: 9, cost, scoring: 'efficiency', allowRaise: false, noise: () => 0.05 });
    expect(eff.trace[0]!.knob).toBe('w:k0');
    // a reference replaces the end point only when better by more than the noise
    // (the search ends at k0 lowered, error 1.02; the reference lowers both)
    const ref = { 'w:k0': 4, 'w:k1': 4 };
    const near = await greedySearch(knobs, (p) => (p['k0']!.w === 4 && p['k1']!.w === 4 ? 1.0 : evaluate(p)), { budget: 9, cost, allowRaise: false, scoring: 'efficiency', noise: () => 0.05, references: [ref] });
    expect(near.chosen).toBe('search');
    expect(near.setting).toEqual({ 'w:k0': 4, 'w:k1': 8 });
    const far = await greedySearch(knobs, (p) => (p['k0']!.w === 4 && p['k1']!.w === 4 ? 0.9 : evaluate(p)), { budget: 9, cost, allowRaise: false, scoring: 'efficiency', noise: () => 0.05, references: [ref] });
    expect(far.chosen).toBe('reference 0');
    await expect(greedySearch(knobs, evaluate, { ...heavy, noise: () => Number.NaN })).rejects.toThrow(/noise\(1\) returned NaN/);
  });
});

describe('noise floor and raises', () => {
  it('under the paper score, a raise within the noise of the best lowering does not win', async () => {
    const knobs = tableKnobs(3, [2, 4, 8]);
    const table: Record<string, number> = { '8,8,8': 1, '4,8,8': 1.1, '8,4,8': 1.3, '8,8,4': 1.5, '2,8,8': 1.6, '4,4,8': 1.2, '4,8,4': 1.7, '2,4,8': 1.31, '4,2,8': 1.35, '4,4,4': 1.4 };
    const evaluate = (p: BitPolicy) => table[`${p['k0']!.w},${p['k1']!.w},${p['k2']!.w}`] ?? 10;
    const o = { budget: 14, cost: linearCost([1, 1, 1]), errorWeight: 100, phases: 'joint' as const };
    const plain = await greedySearch(knobs, evaluate, o);
    expect(plain.trace[2]).toMatchObject({ knob: 'w:k0', direction: 'up', from: 4, to: 8 });
    const noisy = await greedySearch(knobs, evaluate, { ...o, noise: () => 0.05 });
    expect(noisy.trace[2]).toMatchObject({ knob: 'w:k0', direction: 'down', from: 4, to: 2 });
    expect(noisy.cost).toBeLessThanOrEqual(14);
  });
});

describe('cancellation', () => {
  it('an aborted signal stops the search before its next evaluation with E_ABORTED', async () => {
    const knobs = tableKnobs(3, [2, 4, 8]);
    const controller = new AbortController();
    let calls = 0;
    const evaluate: Evaluator = () => {
      if (++calls === 5) controller.abort();
      return calls;
    };
    const err = await greedySearch(knobs, evaluate, { budget: 10, cost: linearCost([1, 1, 1]), signal: controller.signal }).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('E_ABORTED');
    expect(calls).toBe(5);
  });
});
