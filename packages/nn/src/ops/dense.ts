import * as tf from '@tensorflow/tfjs-core';
import { LowbitError } from '@lowbit/core';
import type { DenseSpec } from '../spec.js';
import { fuseBias } from './conv-shapes.js';
import type { OpDef } from './op-def.js';

export const denseOp: OpDef<DenseSpec> = {
  op: 'dense',
  arity: 1,
  params(spec, [s]) {
    const fin = s![0]!;
    const p: ReturnType<OpDef['params']> = {
      kernel: { shape: [fin, spec.units], init: 'glorotUniform', fanIn: fin, fanOut: spec.units, trainable: true },
    };
    if (spec.useBias) p['bias'] = { shape: [spec.units], init: 'zeros', trainable: true };
    return p;
  },
  outputShape(spec, [s]) {
    if (s!.length !== 1) throw new LowbitError('E_SHAPE', `dense '${spec.name}': expected a flat [F] input, got [${s!.join(', ')}] (add a flatten or globalAvgPool)`);
    return [spec.units];
  },
  forward(spec, [x], p) {
    const bias = p['bias'];
    if (fuseBias(bias) && !spec.separateBias) return tf.fused.matMul({ a: x as tf.Tensor2D, b: p['kernel'] as tf.Tensor2D, bias });
    const y = tf.matMul(x as tf.Tensor2D, p['kernel'] as tf.Tensor2D);
    return bias ? tf.add(y, bias) : y;
  },
  macs(spec, [s]) {
    return s![0]! * spec.units;
  },
};
