import { LowbitError } from '@lowbit/core';
import { checkKey, compareKeys, type SchedulerState, sortedKeys } from './scheduler-state.js';

/**
 * One scheduling decision, made once per period: returns a new state (the input is not changed).
 *
 * The freezable keys are those with at least two full candidates; let n be their number. The
 * `Math.round(ratio · n)` freezable keys with the highest turbulence (ties: ascending key order)
 * lose exactly their lowest full candidate for the coming period; every other key gets its full
 * candidate set back, whatever was frozen before. Keys with a single candidate are never frozen.
 *
 * @param turbulences key → turbulence (any finite number, e.g. from `turbulence`). Every
 *   freezable key must be present; single-candidate keys may be omitted; unknown keys are errors.
 * @param ratio in [0, 1], e.g. `freezeRatio(period, periods)`.
 */
export function updateFreezing(state: SchedulerState, turbulences: Record<string, number>, ratio: number): SchedulerState {
  if (!(Number.isFinite(ratio) && ratio >= 0 && ratio <= 1)) throw new LowbitError('E_ARG', `updateFreezing: ratio must be in [0, 1], got ${ratio}`);
  for (const key of sortedKeys(turbulences)) {
    checkKey(state, key);
    const t = turbulences[key];
    if (!(typeof t === 'number' && Number.isFinite(t))) throw new LowbitError('E_ARG', `updateFreezing: turbulence of key ${JSON.stringify(key)} must be a finite number, got ${t}`);
  }
  const freezable = sortedKeys(state.candidates).filter((k) => state.candidates[k]!.length >= 2);
  const missing = freezable.filter((k) => !Object.hasOwn(turbulences, k));
  if (missing.length > 0) {
    throw new LowbitError('E_KEY', `updateFreezing: no turbulence for freezable key(s) ${missing.map((k) => JSON.stringify(k)).join(', ')} (every key with two or more candidates needs one)`);
  }
  // Stable sort over keys already in ascending order: equal turbulences keep key order.
  const ranked = freezable.slice().sort((a, b) => turbulences[b]! - turbulences[a]!);
  const count = Math.round(ratio * freezable.length);
  const frozen = ranked
    .slice(0, count)
    .sort(compareKeys)
    .map((k): [string, number[]] => [k, [state.candidates[k]![0]!]]);
  const candidates = Object.fromEntries(sortedKeys(state.candidates).map((k) => [k, state.candidates[k]!.slice()]));
  return { candidates, frozen: Object.fromEntries(frozen) };
}
