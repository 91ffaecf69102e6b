import { LowbitError } from '@lowbit/core';
import type { Grid } from './grid.js';
import type { RangeEstimator, ScaleZero } from './range-estimators.js';

/**
 * Accumulates activation statistics over calibration batches without keeping them: exact
 * min/max, Σ|x|, count, and a histogram (2,048 bins over a range that widens as data arrives,
 * re-binning old counts). Step sizes are then estimated from the histogram.
 */
export interface HistogramState {
  bins: Float64Array;
  lo: number;
  hi: number;
  min: number;
  max: number;
  sumAbs: number;
  count: number;
}

export function newHistogram(nbins = 2048): HistogramState {
  return { bins: new Float64Array(nbins), lo: 0, hi: 0, min: Number.POSITIVE_INFINITY, max: Number.NEGATIVE_INFINITY, sumAbs: 0, count: 0 };
}

function rebin(h: HistogramState, lo: number, hi: number): void {
  const n = h.bins.length;
  const old = h.bins;
  const ow = (h.hi - h.lo) / n;
  const nb = new Float64Array(n);
  const nw = (hi - lo) / n;
  for (let i = 0; i < n; i++) {
    if (old[i] === 0) continue;
    const centre = h.lo + (i + 0.5) * ow;
    const j = Math.min(n - 1, Math.max(0, Math.floor((centre - lo) / nw)));
    nb[j]! += old[i]!;
  }
  h.bins = nb;
  h.lo = lo;
  h.hi = hi;
}

/** Adds a batch of values. */
export function observeValues(h: HistogramState, v: ArrayLike<number>): void {
  let mn = h.min;
  let mx = h.max;
  let sa = 0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    if (!Number.isFinite(x)) throw new LowbitError('E_NONFINITE', `activation statistics: non-finite value (${x}) at flat index ${i}`);
    if (x < mn) mn = x;
    if (x > mx) mx = x;
    sa += Math.abs(x);
  }
  const n = h.bins.length;
  if (h.count === 0) {
    const pad = Math.max(1e-6, (mx - mn) * 1e-3);
    h.lo = Math.min(0, mn - pad);
    h.hi = Math.max(mx + pad, h.lo + 1e-6);
  } else if (mn < h.lo || mx > h.hi) {
    const span = Math.max(mx, h.hi) - Math.min(mn, h.lo);
    rebin(h, Math.min(h.lo, mn - 0.1 * span * Number(mn < h.lo)), Math.max(h.hi, mx + 0.1 * span * Number(mx > h.hi)));
  }
  const w = (h.hi - h.lo) / n;
  for (let i = 0; i < v.length; i++) {
    const j = Math.min(n - 1, Math.max(0, Math.floor((v[i]! - h.lo) / w)));
    h.bins[j]! += 1;
  }
  h.min = mn;
  h.max = mx;
  h.sumAbs += sa;
  h.count += v.length;
}

function centres(h: HistogramState): Float64Array {
  const n = h.bins.length;
  const w = (h.hi - h.lo) / n;
  return Float64Array.from({ length: n }, (_, i) => h.lo + (i + 0.5) * w);
}

function histError(h: HistogramState, c: Float64Array, s: number, g: Grid): number {
  let e = 0;
  for (let i = 0; i < c.length; i++) {
    if (h.bins[i] === 0) continue;
    const x = c[i]!;
    const q = Math.min(g.qmax, Math.max(g.qmin, Math.round(x / s)));
    e += h.bins[i]! * (x - q * s) ** 2;
  }
  return e;
}

/** Value below which a fraction `p`/100 of |values| (symmetric) or values lie. */
function histQuantile(h: HistogramState, c: Float64Array, p: number, abs: boolean): number {
  const vals = abs ? Float64Array.from(c, Math.abs) : c;
  const order = Array.from({ length: c.length }, (_, i) => i).sort((a, b) => vals[a]! - vals[b]!);
  const target = (p / 100) * h.count;
  let acc = 0;
  for (const i of order) {
    acc += h.bins[i]!;
    if (acc >= target) return vals[i]!;
  }
  return vals[order[order.length - 1]!]!;
}

/**
 * Step size of a symmetric (signed) or unsigned activation grid from the histogram. Zero point 0:
 * unsigned grids cover [0, range], signed ones [−range, range].
 */
export function histogramScale(h: HistogramState, g: Grid, estimator: RangeEstimator, o: { percentile?: number; ratios?: number[] } = {}): ScaleZero {
  if (h.count === 0) throw new LowbitError('E_ESTIMATE', 'activation quantizer: no calibration data was observed before finalize()');
  const range = g.signed ? Math.max(Math.abs(h.min), Math.abs(h.max)) : Math.max(h.max, 0);
  const top = Math.max(range, 1e-8);
  switch (estimator) {
    case 'minmax':
      return { scale: top / g.qmax, zeroPoint: 0 };
    case 'percentile': {
      const q = histQuantile(h, centres(h), o.percentile ?? 99.99, g.signed);
      return { scale: Math.max(Math.min(q, top), 1e-8) / g.qmax, zeroPoint: 0 };
    }
    case 'mse': {
      const c = centres(h);
      let best = top / g.qmax;
      let bestErr = histError(h, c, best, g);
      for (const r of o.ratios ?? Array.from({ length: 96 }, (_, i) => 0.05 + 0.01 * i)) {
        const s = (r * top) / g.qmax;
        const e = histError(h, c, s, g);
        if (e < bestErr) {
          bestErr = e;
          best = s;
        }
      }
      return { scale: best, zeroPoint: 0 };
    }
    case 'meanAbs':
      return { scale: Math.max((2 * h.sumAbs) / h.count / Math.sqrt(g.qmax), 1e-8), zeroPoint: 0 };
    case 'meanStd3':
      throw new LowbitError('E_ESTIMATE', `estimator 'meanStd3' is for weights; activations take minmax, percentile, mse or meanAbs`);
  }
}
