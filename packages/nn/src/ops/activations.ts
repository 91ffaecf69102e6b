import * as tf from '@tensorflow/tfjs-core';
import { LowbitError } from '@lowbit/core';
import type { ClipSpec, LeakyReluSpec, PreluSpec, SimpleSpec } from '../spec.js';
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
export const tanhOp = unary('tanh', (x) => tf.tanh(x));
/** Leaky ReLU with a constant slope. */
export const leakyReluOp: OpDef<LeakyReluSpec> = {
  op: 'leakyRelu',
  arity: 1,
  params: () => ({}),
  outputShape: (_s, [s]) => s!.slice(),
  forward: (spec, [x]) => tf.leakyRelu(x!, spec.alpha),
  macs: () => 0,
};

/** |x| */
export const absOp = unary('abs', (x) => tf.abs(x));
/** √x */
export const sqrtOp = unary('sqrt', (x) => tf.sqrt(x));
/** 1/√x (TF's Rsqrt: the last step of an L2 normalisation) */
export const rsqrtOp = unary('rsqrt', (x) => tf.rsqrt(x));
/** swish(x) = x·σ(x) */
export const swishOp = unary('swish', (x) => tf.mul(x, tf.sigmoid(x)));
/** hard-swish(x) = x·relu6(x + 3)/6 */
export const hardSwishOp = unary('hardSwish', (x) => tf.mul(x, tf.div(tf.relu6(tf.add(x, 3)), 6)));

/** PReLU with one slope per channel (the last axis), a float parameter `alpha` that quantization leaves alone. */
export const preluOp: OpDef<PreluSpec> = {
  op: 'prelu',
  arity: 1,
  params: (_s, [s]) => ({ alpha: { shape: [s![s!.length - 1]!], init: 'zeros', trainable: true } }),
  outputShape: (_s, [s]) => s!.slice(),
  forward: (_s, [x], p) => tf.prelu(x!, p['alpha']!),
  macs: () => 0,
};

export const clipOp: OpDef<ClipSpec> = {
  op: 'clip',
  arity: 1,
  params: () => ({}),
  outputShape(spec, [s]) {
    if (spec.min === null && spec.max === null) throw new LowbitError('E_SPEC', `clip '${spec.name}': needs a min, a max or both`);
    if (spec.min !== null && spec.max !== null && !(spec.min <= spec.max)) throw new LowbitError('E_SPEC', `clip '${spec.name}': min ${spec.min} is above max ${spec.max}`);
    return s!.slice();
  },
  forward(spec, [x]) {
    if (spec.max === null) return tf.maximum(x!, spec.min!);
    if (spec.min === null) return tf.minimum(x!, spec.max);
    return tf.clipByValue(x!, spec.min, spec.max);
  },
  macs: () => 0,
};
