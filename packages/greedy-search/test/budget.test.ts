import { resnetFmSpec } from '@lowbit/models';
import { describe, expect, it } from 'vitest';
import { bitOpsCost, checkBudget, costText, defaultKnobs, highestSetting, lowestSetting, policyFromKnobs, sizeCost } from '../src/index.js';

describe('checkBudget', () => {
  const spec = resnetFmSpec();
  const knobs = defaultKnobs(spec);

  it('returns the lowest and highest reachable costs when the budget can be met', () => {
    const cost = bitOpsCost(spec);
    const lo = cost(policyFromKnobs(knobs, lowestSetting(knobs)));
    const hi = cost(policyFromKnobs(knobs, highestSetting(knobs)));
    expect(lo).toBeLessThan(hi);
    expect(checkBudget(knobs, cost, lo)).toEqual({ minCost: lo, maxCost: hi });
    expect(() => checkBudget(knobs, cost, lo - 1)).toThrow(/E_BUDGET|cannot be met/);
  });

  it('reports BitOps budgets in GBitOps per image, with the floor when the knobs were limited', () => {
    const cost = bitOpsCost(spec);
    const lo = cost(policyFromKnobs(knobs, lowestSetting(knobs)));
    expect(() => checkBudget(knobs, cost, 1e5, { floorBits: 3 })).toThrow(
      `a budget of 0.0001 GBitOps per image cannot be met: with every searchable layer at its lowest bits (never below 3 bits) the network costs ${Number((lo / 1e9).toPrecision(4))} GBitOps per image`,
    );
    expect(() => checkBudget(knobs, cost, 1e5)).toThrow(expect.objectContaining({ code: 'E_BUDGET', details: expect.objectContaining({ budget: 1e5, minCost: lo, costKind: 'bitops' }) }));
  });

  it('a size budget lowers weight knobs only and is reported in KB of weights', () => {
    const cost = sizeCost(spec);
    const weightsLow = { ...highestSetting(knobs), ...Object.fromEntries(knobs.filter((k) => k.kind === 'weight').map((k) => [k.id, k.candidates[0]!])) };
    const lo = cost(policyFromKnobs(knobs, weightsLow));
    expect(checkBudget(knobs, cost, lo).minCost).toBe(lo);
    expect(() => checkBudget(knobs, cost, lo - 8192)).toThrow(new RegExp(`a budget of ${costText('size', lo - 8192).replace('.', '\\.')} cannot be met: .* costs ${costText('size', lo).replace('.', '\\.')}`));
    expect(costText('size', 8192 * 3)).toBe('3 KB of weights');
  });

  it('a cost model of unknown kind is reported in its own numbers; a cost that is not a finite number ≥ 0 is E_COST', () => {
    const plain = () => 7;
    expect(() => checkBudget(knobs, plain, 6)).toThrow('a budget of 6 cannot be met: with every searchable layer at its lowest bits the network costs 7 (at its highest 7)');
    expect(() => checkBudget(knobs, () => Number.NaN, 6)).toThrow(/the cost model returned NaN/);
    expect(() => checkBudget(knobs, () => -1, 6)).toThrow(expect.objectContaining({ code: 'E_COST' }));
  });
});
