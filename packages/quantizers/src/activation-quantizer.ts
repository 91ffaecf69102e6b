import * as tf from '@tensorflow/tfjs-core';
import { type ActivationQuantizer, LowbitError, type StepContext } from '@lowbit/core';
import { fakeQuantize } from './fake-quant.js';
import { type Grid, grid } from './grid.js';
import { type HistogramState, histogramScale, newHistogram, observeValues } from './histogram-observer.js';
import type { RangeEstimator } from './range-estimators.js';

export interface UniformActivationOptions {
  /** Bit-width, or candidate bit-widths (one step each; switch with `setBits`). */
  bits: number | number[];
  /** Signed symmetric grid, or unsigned `[0, 2^b − 1]` for non-negative inputs (after ReLU). */
  signed: boolean;
  estimator?: RangeEstimator;
  percentile?: number;
  /** Learnable steps (LSQ). Default true: activation steps are what reconstruction tunes. */
  learnable?: boolean;
  /** LSQ's gradient scale `1/sqrt(N·qmax)` (N = elements per sample). Default true. */
  lsqGradScale?: boolean;
  /** Initialise the step from the first batch `apply` sees when `finalize` was never called. */
  lazyInit?: boolean;
}

export interface UniformActivationState {
  bits: number;
  candidates: number[];
  grids: Record<number, Grid>;
  hist: HistogramState | null;
  scales: Record<number, tf.Variable> | null;
  zero: tf.Tensor;
}

/**
 * Per-tensor uniform activation quantizer: observes calibration batches (histogram, no batch
 * kept), then sets a step per candidate bit-width; `apply` fake-quantizes with LSQ gradients.
 */
export function uniformActivationQuantizer(o: UniformActivationOptions): ActivationQuantizer<UniformActivationState> {
  const candidates = (Array.isArray(o.bits) ? o.bits : [o.bits]).slice().sort((a, b) => a - b);
  for (const b of candidates) grid(b, o.signed);
  const estimator = o.estimator ?? 'mse';
  const learnable = o.learnable ?? true;
  const finalize = (s: UniformActivationState) => {
    if (!s.hist) throw new LowbitError('E_ESTIMATE', 'activation quantizer: finalize() called twice');
    const hist = s.hist;
    const scales: Record<number, tf.Variable> = {};
    for (const b of candidates) {
      const e = histogramScale(hist, s.grids[b]!, estimator, o.percentile !== undefined ? { percentile: o.percentile } : {});
      scales[b] = tf.tidy(() => tf.variable(tf.scalar(e.scale), learnable));
    }
    s.scales = scales;
    s.hist = null;
  };
  return {
    name: learnable ? 'lsq-act' : 'act',
    init() {
      const grids: Record<number, Grid> = {};
      for (const b of candidates) grids[b] = grid(b, o.signed);
      return { bits: candidates[candidates.length - 1]!, candidates, grids, hist: newHistogram(), scales: null, zero: tf.keep(tf.scalar(0)) };
    },
    observe(x, s) {
      if (!s.hist) throw new LowbitError('E_ESTIMATE', 'activation quantizer: observe() after finalize()');
      observeValues(s.hist, x.dataSync());
    },
    finalize,
    apply(x, s, _ctx: StepContext) {
      if (!s.scales) {
        if (!o.lazyInit) throw new LowbitError('E_ESTIMATE', 'activation quantizer: apply() before finalize() (observe calibration data first, or set lazyInit)');
        observeValues(s.hist!, x.dataSync());
        finalize(s);
      }
      const g = s.grids[s.bits]!;
      const perSample = x.size / (x.shape[0] ?? 1);
      const gradScale = learnable ? ((o.lsqGradScale ?? true) ? 1 / Math.sqrt(perSample * g.qmax) : 1) : 0;
      return fakeQuantize(x, s.scales![s.bits]!, s.zero, { grid: g, gradScale });
    },
    variables(s) {
      return learnable && s.scales ? Object.values(s.scales) : [];
    },
    dispose(s) {
      if (s.scales) for (const v of Object.values(s.scales)) v.dispose();
      s.zero.dispose();
    },
  };
}
