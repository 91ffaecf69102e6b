import { LowbitError } from '@lowbit/core';
import type { Grid } from './grid.js';

/** How a step size is initialised from data. */
export type RangeEstimator = 'minmax' | 'percentile' | 'mse' | 'meanStd3' | 'meanAbs';

/** Step and zero point of one channel (or of a whole tensor). */
export interface ScaleZero {
  scale: number;
  zeroPoint: number;
}

const TINY = 1e-8;

/** Squared error of quantizing `v` with step `s`, zero point `z` on grid `g`. */
function quantError(v: ArrayLike<number>, s: number, z: number, g: Grid): number {
  let e = 0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    const q = Math.min(g.qmax, Math.max(g.qmin, Math.round(x / s) + z));
    const d = x - (q - z) * s;
    e += d * d;
  }
  return e;
}

function rangeToScale(lo: number, hi: number, g: Grid, symmetric: boolean): ScaleZero {
  if (symmetric) {
    const m = Math.max(Math.abs(lo), Math.abs(hi), TINY);
    return { scale: m / (g.signed ? g.qmax : g.qmax), zeroPoint: 0 };
  }
  const l = Math.min(lo, 0);
  const h = Math.max(hi, 0);
  const scale = Math.max((h - l) / (g.qmax - g.qmin), TINY);
  const zeroPoint = Math.min(g.qmax, Math.max(g.qmin, Math.round(g.qmin - l / scale)));
  return { scale, zeroPoint };
}

/** Value at quantile `p` (0–100) of `v` (sorted copy; linear interpolation). */
export function quantile(v: ArrayLike<number>, p: number): number {
  const s = Float64Array.from(v).sort();
  if (s.length === 0) return 0;
  const pos = (p / 100) * (s.length - 1);
  const i = Math.floor(pos);
  const f = pos - i;
  return s[i]! + (i + 1 < s.length ? f * (s[i + 1]! - s[i]!) : 0);
}

export interface EstimateOptions {
  grid: Grid;
  symmetric: boolean;
  estimator: RangeEstimator;
  /** Percentile for `percentile` (default 99.99). */
  percentile?: number;
  /** Clipping ratios tried by `mse` (default 0.05, 0.06, …, 1.00). */
  ratios?: number[];
}

export const DEFAULT_MSE_RATIOS: number[] = Array.from({ length: 96 }, (_, i) => Math.round((0.05 + 0.01 * i) * 100) / 100);

/**
 * Step (and zero point) of one group of values:
 * - `minmax`: the full range;
 * - `percentile`: the range clipped at the given percentile of |v| (symmetric) or of v;
 * - `mse`: the clipping ratio of the min–max range that minimises ‖v − Q(v)‖² (asymmetric grids:
 *   then each end's ratio on its own, the other held, in two rounds);
 * - `meanStd3`: `max(|μ−3σ|, |μ+3σ|) / 2^(b−1)` (the retraining-free method's weight init);
 * - `meanAbs`: `2·mean|v| / sqrt(qmax)` (LSQ's and the retraining-free method's activation init).
 */
export function estimateScale(v: ArrayLike<number>, o: EstimateOptions): ScaleZero {
  if (v.length === 0) throw new LowbitError('E_ESTIMATE', 'cannot estimate a step size from no values');
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  let sum = 0;
  let sumAbs = 0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    if (!Number.isFinite(x)) throw new LowbitError('E_NONFINITE', `cannot quantize a non-finite value (${x}) at flat index ${i}`);
    if (x < lo) lo = x;
    if (x > hi) hi = x;
    sum += x;
    sumAbs += Math.abs(x);
  }
  const g = o.grid;
  switch (o.estimator) {
    case 'minmax':
      return rangeToScale(lo, hi, g, o.symmetric);
    case 'percentile': {
      const p = o.percentile ?? 99.99;
      if (o.symmetric) {
        const abs = Float64Array.from(v, (x) => Math.abs(x));
        const m = quantile(abs, p);
        return rangeToScale(-m, m, g, true);
      }
      return rangeToScale(quantile(v, 100 - p), quantile(v, p), g, false);
    }
    case 'mse': {
      const ratios = o.ratios ?? DEFAULT_MSE_RATIOS;
      let best = rangeToScale(lo, hi, g, o.symmetric);
      let bestErr = quantError(v, best.scale, best.zeroPoint, g);
      let bestLo = lo;
      let bestHi = hi;
      const tryRange = (l: number, h: number) => {
        const c = rangeToScale(l, h, g, o.symmetric);
        const e = quantError(v, c.scale, c.zeroPoint, g);
        if (e < bestErr) {
          bestErr = e;
          best = c;
          bestLo = l;
          bestHi = h;
        }
      };
      for (const r of ratios) tryRange(lo * r, hi * r);
      if (!o.symmetric) {
        // asymmetric: then each end on its own (the other held at its best), twice — a search of both ends
        for (let round = 0; round < 2; round++) {
          const h0 = bestHi;
          for (const r of ratios) tryRange(lo * r, h0);
          const l0 = bestLo;
          for (const r of ratios) tryRange(l0, hi * r);
        }
      }
      return best;
    }
    case 'meanStd3': {
      const mean = sum / v.length;
      let ss = 0;
      for (let i = 0; i < v.length; i++) ss += (v[i]! - mean) ** 2;
      const std = Math.sqrt(ss / v.length);
      const m = Math.max(Math.abs(mean - 3 * std), Math.abs(mean + 3 * std), TINY);
      return { scale: m / 2 ** (g.bits - 1), zeroPoint: 0 };
    }
    case 'meanAbs':
      return { scale: Math.max((2 * sumAbs) / v.length / Math.sqrt(g.qmax), TINY), zeroPoint: 0 };
  }
}

/** Splits a flat channels-along-`axis` array into one array per channel. */
export function splitChannels(values: Float32Array, shape: number[], axis: number): Float32Array[] {
  const c = shape[axis]!;
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const per = values.length / c;
  const out = Array.from({ length: c }, () => new Float32Array(per));
  const fill = new Int32Array(c);
  for (let i = 0; i < values.length; i++) {
    const ch = Math.floor(i / inner) % c;
    out[ch]![fill[ch]!++] = values[i]!;
  }
  return out;
}
