import * as tf from '@tensorflow/tfjs-core';
import { batchNormInfer, batchNormTrain, updateRunningStats } from '@lowbit/core';
import type { BatchNormSpec } from '../spec.js';
import type { OpDef } from './op-def.js';

export const batchNormOp: OpDef<BatchNormSpec> = {
  op: 'batchNorm',
  arity: 1,
  params(_spec, [s]) {
    const c = s![s!.length - 1]!;
    return {
      gamma: { shape: [c], init: 'ones', trainable: true },
      beta: { shape: [c], init: 'zeros', trainable: true },
      movingMean: { shape: [c], init: 'zeros', trainable: false },
      movingVariance: { shape: [c], init: 'ones', trainable: false },
    };
  },
  outputShape(_spec, [s]) {
    return s!.slice();
  },
  forward(spec, [x], p, ctx) {
    const bn = { gamma: p['gamma'] as tf.Tensor1D, beta: p['beta'] as tf.Tensor1D, epsilon: spec.epsilon };
    if (!ctx.training) return batchNormInfer(x!, bn, p['movingMean'] as tf.Tensor1D, p['movingVariance'] as tf.Tensor1D);
    const r = batchNormTrain(x!, bn);
    if (ctx.updateBnStats) {
      const mm = p['movingMean'];
      const mv = p['movingVariance'];
      if (!(mm instanceof tf.Variable) || !(mv instanceof tf.Variable)) {
        throw new Error(`batchNorm '${spec.name}': running statistics must be variables to be updated`);
      }
      const u = updateRunningStats(mm as tf.Tensor1D, mv as tf.Tensor1D, r.mean, r.variance, r.count, spec.momentum);
      mm.assign(u.mean);
      mv.assign(u.variance);
      u.mean.dispose();
      u.variance.dispose();
    }
    return r.y;
  },
  macs(_spec, [s]) {
    return s!.reduce((a, b) => a * b, 1);
  },
};
