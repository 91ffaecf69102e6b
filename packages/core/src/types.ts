import type * as tf from '@tensorflow/tfjs-core';
import type { Rng } from './rng.js';

/**
 * What every annealing or sampling piece receives at each step. `step` runs from 0 to
 * `total - 1`; `training` is false for evaluation passes (hard rounding, no mixing).
 */
export interface StepContext {
  step: number;
  total: number;
  training: boolean;
  rng: Rng;
  /**
   * Set when this thread holds only some rows of the batch (data parallelism): the number of
   * examples of the batch before and after its rows. Anything that draws random numbers per
   * element must consume the whole batch's stream (skip the others' draws), so that every
   * thread's generator stays in step and the result equals the one-thread run.
   */
  shard?: { before: number; after: number };
}

/** An evaluation context: no training, step at the end of the run. */
export function evalContext(rng: Rng): StepContext {
  return { step: 1, total: 1, training: false, rng };
}

/**
 * Integer form of a quantized tensor — what an exporter writes. `value = scale * (code - zeroPoint)`
 * with `scale`/`zeroPoint` per channel along `axis` (or one entry when `axis` is null).
 */
export interface HardenedTensor {
  codes: Int8Array | Int32Array;
  shape: number[];
  scale: Float32Array;
  zeroPoint: Int32Array;
  bits: number;
  signed: boolean;
  /** Channel axis of per-channel grids; `null` for a per-tensor grid. */
  axis: number | null;
}

/**
 * A weight quantizer: a pair of pure functions over explicit state, in the style of optax.
 * RTN, LSQ, ASoftmax rounding and AdaRound all have this shape, so that a reconstruction engine
 * or a user's training loop can swap one for another.
 *
 * - `init(w)` builds the state (step sizes, rounding logits…) from the float weight;
 * - `apply(w, state, ctx)` returns the (fake-)quantized weight, differentiable w.r.t. the
 *   state's variables and, where meaningful, `w` (straight-through);
 * - `harden(w, state)` returns the integer codes deployed in the end;
 * - `variables(state)` lists the trainable variables of the state;
 * - `regularizer(state, ctx)` (optional) is a loss term the optimiser adds (AdaRound's rounding
 *   regulariser); `null` when there is none at this step;
 * - `dispose(state)` frees its tensors.
 */
export interface WeightQuantizer<S = unknown> {
  readonly name: string;
  init(w: tf.Tensor): S;
  apply(w: tf.Tensor, state: S, ctx: StepContext): tf.Tensor;
  harden(w: tf.Tensor, state: S): HardenedTensor;
  variables(state: S): tf.Variable[];
  regularizer?(state: S, ctx: StepContext): tf.Scalar | null;
  dispose(state: S): void;
}

/**
 * Steps and zero points of an asymmetric grid: codes `q` in the unsigned range `[0, 2^b − 1]`,
 * value `s·(q − z)`; one of each per channel along the axis (or one for the tensor).
 */
export interface AsymmetricSteps {
  steps: Float32Array;
  zeroPoints: Int32Array;
}

/**
 * Gives a weight quantizer the grid to start from: one step per channel along `axis` (or one
 * for the whole tensor when `axis` is null) of a symmetric signed grid of `bits` (a
 * `Float32Array`), or steps and zero points of an asymmetric grid ({@link AsymmetricSteps}).
 * Learned rounding packages take this as an argument so that they need not depend on a
 * particular range estimator (the app wires `@lowbit/quantizers`' estimators in).
 */
export type StepSizeInit = (w: tf.Tensor, bits: number, axis: number | null) => Float32Array | AsymmetricSteps;

/**
 * An activation quantizer: `observe` accumulates calibration statistics (without keeping
 * batches), `finalize` turns them into the state's step size(s), `apply` fake-quantizes.
 */
export interface ActivationQuantizer<S = unknown> {
  readonly name: string;
  init(): S;
  observe(x: tf.Tensor, state: S): void;
  finalize(state: S): void;
  apply(x: tf.Tensor, state: S, ctx: StepContext): tf.Tensor;
  variables(state: S): tf.Variable[];
  dispose(state: S): void;
}

/**
 * Mixes the float and the quantized version of an activation during reconstruction
 * (AMixup, QDrop, or identity → `xQuant`).
 */
export type ActivationMixer = (xFloat: tf.Tensor, xQuant: tf.Tensor, ctx: StepContext) => tf.Tensor;

/** A weight quantizer with its state, attached to one layer. */
export interface LayerQuantizer {
  quantizer: WeightQuantizer;
  state: unknown;
}

/** An activation quantizer with its state, attached to one activation site. */
export interface SiteQuantizer {
  quantizer: ActivationQuantizer;
  state: unknown;
}

/**
 * The structural view of a quantized network that algorithm packages work on: the (BN-folded)
 * network, a weight quantizer per layer and an activation quantizer per site. `@lowbit/quantizers`'
 * `QuantizedNetwork` is one; any object of this shape works.
 */
export interface QuantSetup<N = unknown> {
  net: N;
  layers: Map<string, LayerQuantizer>;
  sites: Map<string, SiteQuantizer>;
}
