import { LowbitError } from '@lowbit/core';
import { bitsToKB, type CostKind, type CostModel } from './costs.js';
import type { Knob } from './knobs.js';
import { highestSetting, lowestSetting, policyFromKnobs, type Setting } from './setting.js';

/**
 * A cost in the units budgets are given in: GBitOps per image for `bitops`, KB of weights for
 * `size`, the plain number for a cost model of unknown kind.
 */
export function costText(kind: CostKind | undefined, v: number): string {
  if (kind === 'bitops') return `${Number((v / 1e9).toPrecision(4))} GBitOps per image`;
  if (kind === 'size') return `${Number(bitsToKB(v).toPrecision(4))} KB of weights`;
  return String(v);
}

/** The cost of a knob setting, checked: a finite number ≥ 0 (`E_COST` otherwise). */
export function settingCost(knobs: readonly Knob[], cost: CostModel, setting: Readonly<Setting>): number {
  const c = cost(policyFromKnobs(knobs, setting));
  if (typeof c !== 'number' || !Number.isFinite(c) || c < 0) {
    throw new LowbitError('E_COST', `the cost model returned ${String(c)} for setting ${JSON.stringify(setting)}; expected a finite number ≥ 0`);
  }
  return c;
}

/** Options of {@link checkBudget}. */
export interface BudgetCheckOptions {
  /** How the cost is reported in the message (default: the cost model's `kind`; plain numbers when unknown). */
  kind?: CostKind | undefined;
  /** The lowest bit-width the knobs were limited to, named in the message (e.g. a search's `--min-bits`). */
  floorBits?: number | undefined;
}

/**
 * Checks that a budget can be met at all: with every knob a search may move at its lowest
 * candidate (weight knobs only for a `size` budget) the network must cost no more than `budget`. Returns the lowest and highest reachable costs.
 *
 * @throws LowbitError `E_BUDGET` otherwise, with the budget and both ends in the budget's units
 * and `details: { budget, minCost, maxCost, costKind }`; `E_COST` when the cost model returns
 * something other than a finite number ≥ 0.
 */
export function checkBudget(knobs: readonly Knob[], cost: CostModel, budget: number, o: BudgetCheckOptions = {}): { minCost: number; maxCost: number } {
  const kind = o.kind ?? cost.kind;
  const top = highestSetting(knobs);
  // a size budget moves weight knobs only: activation knobs stay at their highest
  const lowest = kind === 'size' ? { ...top, ...Object.fromEntries(knobs.filter((k) => k.kind === 'weight').map((k) => [k.id, k.candidates[0]!])) } : lowestSetting(knobs);
  const minCost = settingCost(knobs, cost, lowest);
  const maxCost = settingCost(knobs, cost, top);
  if (minCost > budget) {
    const floor = o.floorBits !== undefined ? ` (never below ${o.floorBits} bits)` : '';
    throw new LowbitError(
      'E_BUDGET',
      `a budget of ${costText(kind, budget)} cannot be met: with every searchable layer at its lowest bits${floor} the network costs ${costText(kind, minCost)} (at its highest ${costText(kind, maxCost)})`,
      { budget, minCost, maxCost, ...(kind ? { costKind: kind } : {}) },
    );
  }
  return { minCost, maxCost };
}
