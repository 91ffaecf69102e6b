import type * as tf from '@tensorflow/tfjs-core';
import type { NodeSpec, Shape } from '../spec.js';

/** How a parameter is created when a network is built from a spec. */
export type ParamInit = 'heNormal' | 'glorotUniform' | 'zeros' | 'ones';

export interface ParamDef {
  shape: number[];
  init: ParamInit;
  /** Fan-in / fan-out for the initialisers. */
  fanIn?: number;
  fanOut?: number;
  trainable: boolean;
}

/** What an op's forward needs besides its inputs and parameters. */
export interface OpContext {
  training: boolean;
  updateBnStats: boolean;
}

/**
 * One op of the IR, in one file: its parameters, output shape, forward computation and
 * multiply-accumulate count. Registered by name in `registry.ts`.
 */
export interface OpDef<S extends NodeSpec = NodeSpec> {
  op: S['op'];
  /** Number of inputs the op takes; `'many'` for variadic ops (add). */
  arity: number | 'many';
  params(spec: S, inShapes: Shape[]): Record<string, ParamDef>;
  outputShape(spec: S, inShapes: Shape[]): Shape;
  forward(spec: S, inputs: tf.Tensor[], params: Record<string, tf.Tensor>, ctx: OpContext): tf.Tensor;
  /** Multiply-accumulates per sample. */
  macs(spec: S, inShapes: Shape[], outShape: Shape): number;
}
