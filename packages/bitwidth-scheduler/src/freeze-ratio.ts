import { cosine, LowbitError } from '@lowbit/core';

/** Ends of the freezing-ratio schedule. */
export interface FreezeRatioOptions {
  /** Ratio at the first period (default 0.5). */
  start?: number;
  /** Ratio at the last period (default 0.2). */
  end?: number;
}

/**
 * Share of the freezable keys whose lowest candidate is frozen out at period `period` of
 * `periods` (0-based): a half cosine from `start` (0.5) at the first period to `end` (0.2) at the
 * last, as `@lowbit/core`'s `cosine` schedule (`end` throughout when `periods` is 1). With 11
 * periods: 0.5 at period 0, 0.35 at period 5, 0.2 at period 10.
 */
export function freezeRatio(period: number, periods: number, o: FreezeRatioOptions = {}): number {
  const start = o.start ?? 0.5;
  const end = o.end ?? 0.2;
  for (const [name, v] of [['start', start], ['end', end]] as const) {
    if (!(Number.isFinite(v) && v >= 0 && v <= 1)) throw new LowbitError('E_ARG', `freezeRatio: ${name} must be a ratio in [0, 1], got ${v}`);
  }
  if (!(Number.isInteger(periods) && periods >= 1)) throw new LowbitError('E_ARG', `freezeRatio: periods must be an integer ≥ 1, got ${periods}`);
  if (!(Number.isInteger(period) && period >= 0 && period < periods)) {
    throw new LowbitError('E_ARG', `freezeRatio: period must be an integer from 0 to ${periods - 1} (periods ${periods}), got ${period}`);
  }
  return cosine(start, end)(period, periods);
}
