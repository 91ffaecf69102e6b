import type { Rng } from '@lowbit/core';
import { LowbitError } from '@lowbit/core';
import { activeCandidates, checkKey, type SchedulerState, sortedKeys } from './scheduler-state.js';

/**
 * Draws one bit-width per key, uniformly from its active candidates: one `rng.int(active.length)`
 * per key, in ascending key order, also for keys with a single active candidate, so the number of
 * draws never depends on what is frozen and a seeded run is reproducible.
 *
 * @param keys the keys to draw (default: all); drawn in ascending order whatever order they come in.
 * @returns key → bit-width, keys in ascending order.
 */
export function sampleBits(state: SchedulerState, rng: Pick<Rng, 'int'>, keys?: readonly string[]): Record<string, number> {
  let order: string[];
  if (keys === undefined) order = sortedKeys(state.candidates);
  else {
    for (const k of keys) checkKey(state, k);
    order = sortedKeys(Object.fromEntries(keys.map((k) => [k, true])));
    if (order.length !== keys.length) {
      const twice = keys.filter((k, i) => keys.indexOf(k) !== i);
      throw new LowbitError('E_KEY', `sampleBits: key(s) ${twice.map((k) => JSON.stringify(k)).join(', ')} listed more than once`);
    }
  }
  return Object.fromEntries(
    order.map((k) => {
      const active = activeCandidates(state, k);
      return [k, active[rng.int(active.length)]!];
    }),
  );
}
