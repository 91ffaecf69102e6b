/**
 * A schedule maps (step, total) to a value: temperatures, mixing probabilities, learning rates,
 * freezing ratios. `step` runs from 0 to `total - 1`; progress `p = step / (total - 1)` is 0 at
 * the first step and 1 at the last (1 throughout when `total <= 1`).
 */
export type Schedule = (step: number, total: number) => number;

/** Progress in [0, 1] of `step` through `total` steps. */
export function progress(step: number, total: number): number {
  if (total <= 1) return 1;
  return Math.min(1, Math.max(0, step / (total - 1)));
}

/** Always `value`. */
export function constant(value: number): Schedule {
  return () => value;
}

/** Linear from `from` (first step) to `to` (last step). */
export function linear(from: number, to: number): Schedule {
  return (step, total) => from + (to - from) * progress(step, total);
}

/** Half-cosine from `from` (first step) to `to` (last step). */
export function cosine(from: number, to: number): Schedule {
  return (step, total) => to + ((from - to) * (1 + Math.cos(Math.PI * progress(step, total)))) / 2;
}

/**
 * Segments one after another. Each segment is `[end, schedule]` with `end` the fraction of the
 * run (0–1, increasing, the last one 1) where the segment stops; inside a segment its schedule
 * sees its own local step and length.
 *
 * @example AdaRound's β: 20 during a 20% warm-up, then linear 20 → 2
 * piecewise([[0.2, constant(20)], [1, linear(20, 2)]])
 */
export function piecewise(segments: Array<[end: number, schedule: Schedule]>): Schedule {
  if (segments.length === 0) throw new RangeError('piecewise: needs at least one segment');
  let prev = 0;
  for (const [end] of segments) {
    if (!(end > prev - 1e-12 && end <= 1)) {
      throw new RangeError(`piecewise: segment ends must increase within (0, 1], got ${segments.map((s) => s[0]).join(', ')}`);
    }
    prev = end;
  }
  if (Math.abs(prev - 1) > 1e-9) throw new RangeError(`piecewise: the last segment must end at 1, got ${prev}`);
  return (step, total) => {
    let start = 0;
    for (const [end, schedule] of segments) {
      const s0 = Math.round(start * total);
      const s1 = Math.round(end * total);
      if (step < s1 || end === 1) return schedule(step - s0, Math.max(1, s1 - s0));
      start = end;
    }
    /* istanbul ignore next: the last segment always ends at 1 */
    return segments[segments.length - 1]![1](step, total);
  };
}

/** Linear warm-up from 0 over the first `fraction` of the run, then `after`. */
export function warmup(fraction: number, peak: number, after: Schedule): Schedule {
  if (fraction <= 0) return after;
  return piecewise([
    [fraction, (s, t) => (peak * (s + 1)) / t],
    [1, after],
  ]);
}
