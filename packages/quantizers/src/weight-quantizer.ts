import * as tf from '@tensorflow/tfjs-core';
import { type HardenedTensor, LowbitError, type StepContext, type WeightQuantizer } from '@lowbit/core';
import { fakeQuantize } from './fake-quant.js';
import { broadcastShape, channelAxis, type Grid, grid } from './grid.js';
import { hardenTensor } from './harden.js';
import { estimateScale, type RangeEstimator, type ScaleZero, splitChannels } from './range-estimators.js';

export interface UniformWeightOptions {
  /** Bit-width, or the candidate bit-widths of a switchable quantizer (one step per candidate). */
  bits: number | number[];
  /** Per output channel (default) or one step for the whole tensor. */
  granularity?: 'channel' | 'tensor';
  /** Channel axis for per-channel grids (default: the last axis; use 2 for depthwise kernels). */
  axis?: number;
  /** Symmetric signed grid (default) or asymmetric with a zero point. */
  symmetric?: boolean;
  estimator?: RangeEstimator;
  percentile?: number;
  /** Learnable step sizes (LSQ). Default false (fixed steps: round-to-nearest). */
  learnable?: boolean;
  /** LSQ's gradient scale `1/sqrt(N·qmax)` on the step gradient (default true when learnable). */
  lsqGradScale?: boolean;
}

/** State of a uniform weight quantizer. `bits` selects the active candidate. */
export interface UniformWeightState {
  bits: number;
  candidates: number[];
  axis: number | null;
  symmetric: boolean;
  grids: Record<number, Grid>;
  /** Steps per candidate bit-width: shape `[C]` per channel, `[]` per tensor. */
  scales: Record<number, tf.Variable>;
  zeroPoints: Record<number, tf.Tensor>;
  count: number;
  rank: number;
}

/**
 * Uniform affine weight quantizer (round-to-nearest or LSQ): the `WeightQuantizer` of plain
 * fake quantization. Holds one step per candidate bit-width so that one-shot mixed-precision
 * training can switch bits with {@link setBits}.
 *
 * @example
 * const q = uniformWeightQuantizer({ bits: 4, estimator: 'mse' });
 * const state = q.init(kernel);
 * const wq = q.apply(kernel, state, ctx); // fake-quantized kernel
 * const codes = q.harden(kernel, state);   // integer codes + scales for export
 */
export function uniformWeightQuantizer(o: UniformWeightOptions): WeightQuantizer<UniformWeightState> {
  const candidates = (Array.isArray(o.bits) ? o.bits : [o.bits]).slice().sort((a, b) => a - b);
  if (candidates.length === 0) throw new LowbitError('E_BITS', 'uniformWeightQuantizer: needs at least one bit-width');
  const symmetric = o.symmetric ?? true;
  for (const b of candidates) grid(b, symmetric);
  const granularity = o.granularity ?? 'channel';
  const estimator = o.estimator ?? 'minmax';
  const learnable = o.learnable ?? false;
  return {
    name: learnable ? 'lsq' : 'rtn',
    init(w) {
      const axis = granularity === 'channel' ? channelAxis(o.axis ?? w.rank - 1, w.rank, 'weight channel axis') : null;
      const values = w.dataSync() as Float32Array;
      const groups = axis === null ? [values] : splitChannels(values, w.shape, axis);
      const grids: Record<number, Grid> = {};
      const scales: Record<number, tf.Variable> = {};
      const zeroPoints: Record<number, tf.Tensor> = {};
      const shape = axis === null ? [] : broadcastShape(axis, w.rank, w.shape[axis]!);
      for (const b of candidates) {
        const g = grid(b, symmetric);
        grids[b] = g;
        const est: ScaleZero[] = groups.map((v) => estimateScale(v, { grid: g, symmetric, estimator, ...(o.percentile !== undefined ? { percentile: o.percentile } : {}) }));
        scales[b] = tf.tidy(() => tf.variable(tf.tensor(est.map((e) => e.scale), shape, 'float32'), learnable));
        zeroPoints[b] = tf.tensor(est.map((e) => e.zeroPoint), shape, 'float32');
      }
      return { bits: candidates[candidates.length - 1]!, candidates, axis, symmetric, grids, scales, zeroPoints, count: w.size / (axis === null ? 1 : w.shape[axis]!), rank: w.rank };
    },
    apply(w, s, _ctx: StepContext) {
      const g = s.grids[s.bits]!;
      const gradScale = learnable && (o.lsqGradScale ?? true) ? 1 / Math.sqrt(s.count * g.qmax) : learnable ? 1 : 0;
      return fakeQuantize(w, s.scales[s.bits]!, s.zeroPoints[s.bits]!, { grid: g, gradScale });
    },
    harden(w, s): HardenedTensor {
      return hardenTensor(w, s.scales[s.bits]!.dataSync() as Float32Array, Int32Array.from(s.zeroPoints[s.bits]!.dataSync()), s.grids[s.bits]!, s.axis);
    },
    variables(s) {
      return learnable ? Object.values(s.scales) : [];
    },
    dispose(s) {
      for (const v of Object.values(s.scales)) v.dispose();
      for (const z of Object.values(s.zeroPoints)) z.dispose();
    },
  };
}

/** Selects the active candidate bit-width of a switchable quantizer state. */
export function setBits(state: { bits: number; candidates: number[] }, bits: number): void {
  if (!state.candidates.includes(bits)) throw new LowbitError('E_BITS', `bit-width ${bits} is not a candidate of this quantizer (${state.candidates.join(', ')})`);
  state.bits = bits;
}
