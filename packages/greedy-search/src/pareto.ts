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
