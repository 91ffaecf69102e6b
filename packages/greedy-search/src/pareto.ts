import { LowbitError } from '@lowbit/core';
import type { Knob } from './knobs.js';
import type { SearchResult } from './search.js';
import { highestSetting, type Setting } from './setting.js';

/**
 * The non-dominated points (no other point is at most as costly and at most as wrong, and
 * better in one), sorted by cost ascending — the Pareto front of an error/cost plot. Of points
 * with equal cost and error the first is kept.
 */
export function paretoFront<T extends { cost: number; error: number }>(points: readonly T[]): T[] {
  const sorted = points
    .map((p, i) => ({ p, i }))
    .sort((x, y) => x.p.cost - y.p.cost || x.p.error - y.p.error || x.i - y.i)
    .map((e) => e.p);
  const front: T[] = [];
  let best = Number.POSITIVE_INFINITY;
  for (const p of sorted) {
    if (p.error < best) {
      front.push(p);
      best = p.error;
    }
  }
  return front;
}

/**
 * The settings a search moved through, from its all-highest start to its end point: the start,
 * then the setting after each traced move, with that move's cost and error. Unlike the Pareto
 * front over every evaluated policy, its errors are those the search acted on — comparable with
 * each other even when the scoring images changed between rounds (resampled batches), as long as
 * each is read against its own step.
 */
export function searchPath(knobs: readonly Knob[], result: Pick<SearchResult, 'trace' | 'start'>): Array<{ setting: Setting; cost: number; error: number }> {
  let setting = highestSetting(knobs);
  const path = [{ setting, cost: result.start.cost, error: result.start.error }];
  for (const t of result.trace) {
    if (!(t.knob in setting)) throw new LowbitError('E_TRACE', `trace step ${t.step} moves '${t.knob}', which is not one of the knobs`);
    if (setting[t.knob] !== t.from) throw new LowbitError('E_TRACE', `trace step ${t.step} moves '${t.knob}' from ${t.from} bits, but the path has it at ${setting[t.knob]}`);
    setting = { ...setting, [t.knob]: t.to };
    path.push({ setting, cost: t.cost, error: t.error });
  }
  return path;
}
