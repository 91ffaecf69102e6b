import type { StepSizeInit } from '@lowbit/core';
import { grid } from './grid.js';
import { estimateScale, type RangeEstimator, splitChannels } from './range-estimators.js';

/**
 * A `StepSizeInit` (what learned-rounding quantizers take) backed by a range estimator:
 * symmetric signed steps, one per channel along the axis (or one for the tensor).
 */
export function stepSizeInit(estimator: RangeEstimator = 'mse', o: { percentile?: number } = {}): StepSizeInit {
  return (w, bits, axis) => {
    const g = grid(bits, true);
    const values = w.dataSync() as Float32Array;
    const groups = axis === null ? [values] : splitChannels(values, w.shape, axis);
    return Float32Array.from(groups, (v) => estimateScale(v, { grid: g, symmetric: true, estimator, ...o }).scale);
  };
}
