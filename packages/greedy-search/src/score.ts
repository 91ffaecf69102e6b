/** How {@link moveScores} puts error and cost on one scale. */
export type ScoreNormalization = 'max' | 'range';

/** Options of {@link moveScores}. */
export interface ScoreOptions {
  /** Cost of the all-highest setting (`cost_max`); used by `'max'` normalization. */
  costMax: number;
  /** Weight of the error term (default 1.5, the reference's). */
  errorWeight?: number;
  /** Default `'max'`. */
  normalization?: ScoreNormalization;
}

/**
 * Scores the candidate moves of one search step; lower is better.
 *
 * - `'max'` (default): `errorWeight · err/err_max − (1 − cost/cost_max)`, with `err_max` the
 *   largest error among these moves and `cost_max` the cost of the all-highest setting: the error
 *   relative to the worst move, against the share of the full cost saved.
 * - `'range'`: `errorWeight · (err − err_min)/(err_max − err_min) −
 *   (cost_hi − cost)/(cost_hi − cost_lo)`, both terms min–max normalised over these moves, so the
 *   cheapest move always gains 1 on the cost term. (Neither is exactly the reference code's, which
 *   scores `1.5·err/err_max − (1 − cost/cost_hi)` with `cost_hi` the largest cost among the
 *   step's moves, not the all-highest cost.)
 *
 * A term whose normaliser is 0 (all errors equal, or all zero) contributes 0.
 */
export function moveScores(moves: ReadonlyArray<{ error: number; cost: number }>, o: ScoreOptions): number[] {
  const w = o.errorWeight ?? 1.5;
  if (moves.length === 0) return [];
  const errs = moves.map((m) => m.error);
  const costs = moves.map((m) => m.cost);
  const errMax = Math.max(...errs);
  if ((o.normalization ?? 'max') === 'max') {
    return moves.map((m) => w * (errMax > 0 ? m.error / errMax : 0) - (1 - m.cost / o.costMax));
  }
  const errMin = Math.min(...errs);
  const costHi = Math.max(...costs);
  const costLo = Math.min(...costs);
  return moves.map((m) => {
    const e = errMax > errMin ? (m.error - errMin) / (errMax - errMin) : 0;
    const c = costHi > costLo ? (costHi - m.cost) / (costHi - costLo) : 0;
    return w * e - c;
  });
}
