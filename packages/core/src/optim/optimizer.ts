import type * as tf from '@tensorflow/tfjs-core';
import type { Schedule } from '../schedules.js';

/** Parameters by stable key (e.g. `block1/conv1/kernel`), so that state survives save/resume. */
export type ParamMap = Record<string, tf.Variable>;
/** Gradients by the same keys. */
export type GradMap = Record<string, tf.Tensor>;

/**
 * An optimiser with explicit state, keyed by parameter key rather than tfjs variable name (those
 * are auto-generated and differ between processes, which breaks exact resume).
 *
 * `step(params, grads)` updates the variables in place; `state()` returns every state tensor by
 * name (for checkpoints) and `loadState()` restores them.
 */
export interface Optimizer {
  readonly name: string;
  /** Number of steps applied so far. */
  readonly iterations: number;
  step(params: ParamMap, grads: GradMap): void;
  /** Learning rate used at the next step. */
  learningRate(): number;
  state(): { iterations: number; tensors: Record<string, tf.Tensor> };
  loadState(s: { iterations: number; tensors: Record<string, tf.Tensor> }): void;
  dispose(): void;
}

export interface LrOptions {
  /** A constant learning rate or a schedule over (iteration, totalSteps). */
  lr: number | Schedule;
  /** Total steps, for schedules. */
  totalSteps?: number;
}

export function lrAt(o: LrOptions, iteration: number): number {
  return typeof o.lr === 'number' ? o.lr : o.lr(iteration, o.totalSteps ?? 1);
}
