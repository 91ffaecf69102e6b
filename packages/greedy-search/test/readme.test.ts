import { mbv2FmSpec } from '@lowbit/models';
import type { BitPolicy } from '@lowbit/nn';
import { expect, it } from 'vitest';
import { bitOpsCost, defaultKnobs, greedySearch, paretoFront, policyFromKnobs, type TraceStep, uniformSetting } from '../src/index.js';

it('the README example runs and meets its budget', async () => {
  const spec = mbv2FmSpec();
  const knobs = defaultKnobs(spec);
  const cost = bitOpsCost(spec);
  const budget = cost(policyFromKnobs(knobs, uniformSetting(knobs, 4)));
  const evaluate = (policy: BitPolicy) =>
    Object.entries(policy).reduce((e, [name, b]) => e + (name.includes('dw') ? 1 : 3) * (2 ** -b.w + 2 ** -b.a), 0.1);
  const lines: string[] = [];
  const result = await greedySearch(knobs, evaluate, {
    budget,
    cost,
    onStep: (s: TraceStep) => lines.push(`${s.step} phase ${s.phase}: ${s.knob} ${s.from}→${s.to} error ${s.error.toFixed(4)}`),
  });
  expect(result.cost).toBeLessThanOrEqual(budget);
  expect(lines).toHaveLength(result.trace.length);
  expect(lines[0]).toMatch(/^1 phase 1: w:\S+ 6→5 error \d\.\d{4}$/);
  expect(result.evaluations).toBe(result.evaluated.length);
  expect(result.policy['ir3/expand']).toEqual({ w: expect.any(Number), a: expect.any(Number) });
  const front = paretoFront(result.evaluated);
  expect(front.length).toBeGreaterThan(1);
  expect(front.some((p) => p.cost <= result.cost && p.error <= result.error)).toBe(true);
});
