import * as tf from '@tensorflow/tfjs-core';
import type { SimpleSpec } from '../spec.js';
import type { OpDef } from './op-def.js';

const unary = (op: SimpleSpec['op'], f: (x: tf.Tensor) => tf.Tensor): OpDef<SimpleSpec> => ({
  op,
  arity: 1,
  params: () => ({}),
  outputShape: (_s, [s]) => s!.slice(),
  forward: (_s, [x]) => f(x!),
  macs: () => 0,
});

/** Softmax over the last axis. */
export const softmaxOp = unary('softmax', (x) => tf.softmax(x));
export const sigmoidOp = unary('sigmoid', (x) => tf.sigmoid(x));
/** swish(x) = x·σ(x) */
export const swishOp = unary('swish', (x) => tf.mul(x, tf.sigmoid(x)));
/** hard-swish(x) = x·relu6(x + 3)/6 */
export const hardSwishOp = unary('hardSwish', (x) => tf.mul(x, tf.div(tf.relu6(tf.add(x, 3)), 6)));
