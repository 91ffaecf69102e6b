import * as tf from '@tensorflow/tfjs-core';
import { LowbitError } from '@lowbit/core';
import type { SumSpec } from '../spec.js';
import type { OpDef } from './op-def.js';

/** Per-example axes of a rank-`rank` value (−1: the last), each once; a clear error otherwise. */
function axesOf(spec: SumSpec, rank: number): number[] {
  const axes = spec.axes.map((a) => (a < 0 ? rank + a : a));
  if (axes.length === 0 || axes.some((a) => !Number.isInteger(a) || a < 0 || a >= rank) || new Set(axes).size !== axes.length) {
    throw new LowbitError('E_SHAPE', `sum '${spec.name}': axes [${spec.axes.join(', ')}] are not distinct axes of a rank-${rank} value`);
  }
  return axes;
}

/** TF's Sum over per-example axes (the squared norm of an L2 normalisation). */
export const sumOp: OpDef<SumSpec> = {
  op: 'sum',
  arity: 1,
  params: () => ({}),
  outputShape(spec, [s]) {
    const axes = axesOf(spec, s!.length);
    return spec.keepDims ? s!.map((d, i) => (axes.includes(i) ? 1 : d)) : s!.filter((_, i) => !axes.includes(i));
  },
  forward: (spec, [x]) => tf.sum(x!, axesOf(spec, x!.rank - 1).map((a) => a + 1), spec.keepDims),
  macs: () => 0,
};
