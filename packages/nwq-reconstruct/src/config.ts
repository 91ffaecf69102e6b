import type { ActivationMixer, Schedule } from '@lowbit/core';
import type { ArWeighting, Reduction } from './losses.js';

/** What the reconstruction loss compares between the quantized and the float network. */
export type RegularizationPoints = 'blocks' | 'layers' | 'none';

/**
 * Settings of one reconstruction run. `network` optimises every rounding choice and activation
 * step jointly against the float network (NWQ, with Activation Regularization over `regularize`
 * points); `block` optimises one block at a time on the quantized prefix's output (BRECQ, QDrop);
 * `layer` one layer at a time (AdaRound).
 */
export interface ReconstructionConfig {
  granularity: 'network' | 'block' | 'layer';
  /** Optimisation steps: in total for `network`, per block / per layer otherwise. */
  iterations: number;
  /** Images per optimisation step (the statistical batch). */
  batchSize: number;
  /**
   * Images per forward/backward pass (default: the whole batch, or this thread's share of it).
   * Smaller values accumulate the gradients of several passes into one step — the same step as
   * one pass over the batch (up to float summation order), in less memory.
   */
  microBatch?: number;
  /** Images per float forward while the target cache is filled (default 64; size it from the model's activations). */
  inferenceBatch?: number;
  /**
   * Float-target cache budget in bytes (`targets: 'cache'`; default 2 GiB). The cache is kept in
   * JS memory, outside the backend's heap; when the calibration set's targets exceed the budget
   * they are recomputed for every batch instead (`per-batch`).
   */
  cacheBytes?: number;
  /**
   * How cached targets are stored: `float32`, `float16` (half the bytes; targets rounded to 11
   * significant bits, ≤ 2⁻¹¹ relative), or `auto` (default): float32 when it fits the budget,
   * else float16 when that fits, else per batch.
   */
  cachePrecision?: 'auto' | 'float32' | 'float16';
  /**
   * Memory every rank of a data-parallel group sees (a `SharedArrayBuffer` given to all of them):
   * with it the ranks fill one shared cache, each its share of the images, instead of one full
   * cache per rank. Its size caps the cache like `cacheBytes`. Ignored without a group.
   */
  cacheArena?: SharedArrayBuffer;
  /** Network granularity: AR points — block outputs (default), every layer's output, or none (output only). */
  regularize: RegularizationPoints;
  /** How the AR points' terms are weighted (default `sum`; see {@link ArWeighting}). */
  arWeighting?: ArWeighting;
  /**
   * How reconstruction and AR errors are reduced (default `features`: squared distance per
   * example; `channels`: BRECQ/QDrop's channel-summed, position-averaged form, which AdaRound's
   * regulariser weight assumes — the presets with AdaRound rounding use it).
   */
  reduction?: Reduction;
  /** Network granularity: extra term on the logits (`none` default; `mse` or `kl`). */
  outputLoss: 'none' | 'mse' | 'kl';
  outputWeight: number;
  /** Adam learning rate of the weight quantizers' variables (rounding logits). */
  weightLr: number;
  /** Adam learning rate of the activation steps (0 = keep them fixed). */
  activationLr: number;
  /** Schedules of the two learning rates, as multipliers (default: constant 1 for weights, cosine 1 → 0 for steps). */
  weightLrSchedule?: Schedule;
  activationLrSchedule?: Schedule;
  /** Mixing of float and quantized activations during optimisation. */
  mixer: ActivationMixer;
  /** Float targets: computed for every batch (`per-batch`, least memory) or precomputed for the whole calibration set (`cache`). */
  targets: 'per-batch' | 'cache';
  seed: number;
}

/** Which learned rounding and which mixing a preset uses: names the app maps to implementations. */
export interface PresetChoices {
  rounding: 'nearest' | 'adaround' | 'asoftmax';
  mixing: 'none' | 'qdrop' | 'amixup';
}

export type PresetName = 'rtn' | 'adaround' | 'brecq' | 'qdrop' | 'nwq';
export const PRESET_NAMES: readonly PresetName[] = ['rtn', 'adaround', 'brecq', 'qdrop', 'nwq'];

/** A method over the same engine: a config without the mixer, plus the rounding/mixing choice. */
export interface Preset extends PresetChoices {
  name: PresetName;
  description: string;
  config: Omit<ReconstructionConfig, 'mixer' | 'seed'> | null;
}

const common = { batchSize: 32, outputLoss: 'none' as const, outputWeight: 1, weightLr: 1e-3, activationLr: 4e-5, targets: 'cache' as const };

/**
 * The five methods lowbit compares, each one config over the same engine. Iterations: 1,000 in
 * total for NWQ, 1,000 per block (BRECQ, QDrop) or per layer (AdaRound) for the others — a block
 * step costs about the block's share of a network step, so NWQ gets no more compute than the
 * block-wise methods. `rtn` has no optimisation.
 */
export const PRESETS: Record<PresetName, Preset> = {
  rtn: { name: 'rtn', description: 'round-to-nearest with range estimation, no reconstruction', rounding: 'nearest', mixing: 'none', config: null },
  adaround: {
    name: 'adaround',
    description: 'AdaRound: layer-by-layer reconstruction, rectified-sigmoid rounding with its regulariser, fixed activation steps',
    rounding: 'adaround',
    mixing: 'none',
    config: { ...common, granularity: 'layer', iterations: 1000, regularize: 'none', activationLr: 0, reduction: 'channels' },
  },
  brecq: {
    name: 'brecq',
    description: 'BRECQ: block-by-block reconstruction, AdaRound rounding, learned activation steps',
    rounding: 'adaround',
    mixing: 'none',
    config: { ...common, granularity: 'block', iterations: 1000, regularize: 'none', reduction: 'channels' },
  },
  qdrop: {
    name: 'qdrop',
    description: 'QDrop: BRECQ plus random activation drop (float kept with p = 0.5)',
    rounding: 'adaround',
    mixing: 'qdrop',
    config: { ...common, granularity: 'block', iterations: 1000, regularize: 'none', reduction: 'channels' },
  },
  nwq: {
    name: 'nwq',
    description: 'NWQ: network-wise reconstruction with Activation Regularization over block outputs, Annealing-Softmax rounding, Annealing Mixup',
    rounding: 'asoftmax',
    mixing: 'amixup',
    config: { ...common, granularity: 'network', iterations: 1000, regularize: 'blocks', reduction: 'features' },
  },
};
