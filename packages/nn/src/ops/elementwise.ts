import * as tf from '@tensorflow/tfjs-core';
import { LowbitError } from '@lowbit/core';
import type { SimpleSpec } from '../spec.js';
import { expectImage } from './conv-shapes.js';
import type { OpDef } from './op-def.js';

const noParams = () => ({});
const sameShape = (_s: SimpleSpec, [s]: number[][]) => s!.slice();
const noMacs = () => 0;

export const reluOp: OpDef<SimpleSpec> = {
  op: 'relu',
  arity: 1,
  params: noParams,
  outputShape: sameShape,
  forward: (_s, [x]) => tf.relu(x!),
  macs: noMacs,
};

export const relu6Op: OpDef<SimpleSpec> = {
  op: 'relu6',
  arity: 1,
  params: noParams,
  outputShape: sameShape,
  forward: (_s, [x]) => tf.relu6(x!),
  macs: noMacs,
};

export const identityOp: OpDef<SimpleSpec> = {
  op: 'identity',
  arity: 1,
  params: noParams,
  outputShape: sameShape,
  forward: (_s, [x]) => x!,
  macs: noMacs,
};

export const addOp: OpDef<SimpleSpec> = {
  op: 'add',
  arity: 'many',
  params: noParams,
  outputShape(spec, shapes) {
    const first = shapes[0]!;
    for (const s of shapes) {
      if (s.length !== first.length || s.some((d, i) => d !== first[i])) {
        throw new LowbitError('E_SHAPE', `add '${spec.name}': inputs must have equal shapes, got ${shapes.map((x) => `[${x.join(', ')}]`).join(' and ')}`);
      }
    }
    return first.slice();
  },
  forward: (_s, xs) => (xs.length === 2 ? tf.add(xs[0]!, xs[1]!) : tf.addN(xs)),
  macs: noMacs,
};

/** Elementwise binary op of two values of the same rank, a size-1 axis of either broadcast. */
function broadcastBinary(op: 'mul' | 'div' | 'sub', f: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor): OpDef<SimpleSpec> {
  return {
    op,
    arity: 2,
    params: noParams,
    outputShape(spec, [a, b]) {
      if (a!.length !== b!.length || a!.some((d, i) => d !== b![i] && d !== 1 && b![i] !== 1)) {
        throw new LowbitError('E_SHAPE', `${op} '${spec.name}': inputs must have the same rank and agree on every axis where neither is 1, got [${a!.join(', ')}] and [${b!.join(', ')}]`);
      }
      return a!.map((d, i) => Math.max(d, b![i]!));
    },
    forward: (_s, [a, b]) => f(a!, b!),
    macs: noMacs,
  };
}

/**
 * The elementwise product of two values (a squeeze-and-excitation gate [1, 1, C] over [H, W, C];
 * x/6 · relu6(x + 3) as TF writes hard-swish; the products in SSR-Net's age head).
 */
export const mulOp = broadcastBinary('mul', (a, b) => tf.mul(a, b));
/** The elementwise difference `a − b` of two values. */
export const subOp = broadcastBinary('sub', (a, b) => tf.sub(a, b));
/** The elementwise quotient `a / b` of two values. */
export const divOp = broadcastBinary('div', (a, b) => tf.div(a, b));

export const flattenOp: OpDef<SimpleSpec> = {
  op: 'flatten',
  arity: 1,
  params: noParams,
  outputShape: (_s, [s]) => [s!.reduce((a, b) => a * b, 1)],
  forward: (_s, [x]) => tf.reshape(x!, [x!.shape[0]!, -1]),
  macs: noMacs,
};

export const globalAvgPoolOp: OpDef<SimpleSpec> = {
  op: 'globalAvgPool',
  arity: 1,
  params: noParams,
  outputShape(spec, [s]) {
    expectImage('globalAvgPool', spec.name, s!);
    return [s![2]!];
  },
  forward: (_s, [x]) => tf.mean(x!, [1, 2]),
  macs: noMacs,
};
