import type { StepSizeInit } from '@lowbit/core';
import { grid } from './grid.js';
import { estimateScale, type RangeEstimator, splitChannels } from './range-estimators.js';

/**
 * A `StepSizeInit` (what learned-rounding quantizers take) backed by a range estimator, one grid
 * per channel along the axis (or one for the tensor): symmetric signed steps (default), or
 * with `symmetric: false` steps and zero points of an asymmetric grid (codes `[0, 2^b − 1]`).
 */
export function stepSizeInit(estimator: RangeEstimator = 'mse', o: { percentile?: number; symmetric?: boolean } = {}): StepSizeInit {
  const symmetric = o.symmetric ?? true;
  const extra = o.percentile !== undefined ? { percentile: o.percentile } : {};
  return (w, bits, axis) => {
    const g = grid(bits, symmetric);
    const values = w.dataSync() as Float32Array;
    const groups = axis === null ? [values] : splitChannels(values, w.shape, axis);
    const est = groups.map((v) => estimateScale(v, { grid: g, symmetric, estimator, ...extra }));
    const steps = Float32Array.from(est, (e) => e.scale);
    return symmetric ? steps : { steps, zeroPoints: Int32Array.from(est, (e) => e.zeroPoint) };
  };
}
