import * as tf from '@tensorflow/tfjs-core';
import type { Conv2dSpec } from '../spec.js';
import { convOutSize, expectImage, fuseBias, tfPad } from './conv-shapes.js';
import type { OpDef } from './op-def.js';

export const conv2dOp: OpDef<Conv2dSpec> = {
  op: 'conv2d',
  arity: 1,
  params(spec, [s]) {
    const [kh, kw] = spec.kernelSize;
    const cin = s![2]!;
    const p: ReturnType<OpDef['params']> = {
      kernel: { shape: [kh, kw, cin, spec.filters], init: 'heNormal', fanIn: kh * kw * cin, fanOut: kh * kw * spec.filters, trainable: true },
    };
    if (spec.useBias) p['bias'] = { shape: [spec.filters], init: 'zeros', trainable: true };
    return p;
  },
  outputShape(spec, [s]) {
    expectImage('conv2d', spec.name, s!);
    const ho = convOutSize(s![0]!, spec.kernelSize[0], spec.strides[0], spec.padding, 0);
    const wo = convOutSize(s![1]!, spec.kernelSize[1], spec.strides[1], spec.padding, 1);
    return [ho, wo, spec.filters];
  },
  forward(spec, [x], p) {
    const bias = p['bias'];
    if (fuseBias(bias) && !spec.separateBias) return tf.fused.conv2d({ x: x as tf.Tensor4D, filter: p['kernel'] as tf.Tensor4D, strides: spec.strides, pad: tfPad(spec.padding), bias });
    const y = tf.conv2d(x as tf.Tensor4D, p['kernel'] as tf.Tensor4D, spec.strides, tfPad(spec.padding));
    return bias ? tf.add(y, bias) : y;
  },
  macs(spec, [s], out) {
    return out[0]! * out[1]! * spec.kernelSize[0] * spec.kernelSize[1] * s![2]! * spec.filters;
  },
};
