import * as tf from '@tensorflow/tfjs-core';
import type { PoolSpec } from '../spec.js';
import { convOutSize } from './conv-shapes.js';
import type { OpDef } from './op-def.js';

function poolShape(spec: PoolSpec, [s]: number[][]): number[] {
  return [
    convOutSize(s![0]!, spec.poolSize[0], spec.strides[0], spec.padding, 0),
    convOutSize(s![1]!, spec.poolSize[1], spec.strides[1], spec.padding, 1),
    s![2]!,
  ];
}

export const avgPoolOp: OpDef<PoolSpec> = {
  op: 'avgPool',
  arity: 1,
  params: () => ({}),
  outputShape: poolShape,
  forward: (spec, [x]) => tf.avgPool(x as tf.Tensor4D, spec.poolSize, spec.strides, spec.padding),
  macs: () => 0,
};

export const maxPoolOp: OpDef<PoolSpec> = {
  op: 'maxPool',
  arity: 1,
  params: () => ({}),
  outputShape: poolShape,
  forward: (spec, [x]) => tf.maxPool(x as tf.Tensor4D, spec.poolSize, spec.strides, spec.padding),
  macs: () => 0,
};
