import * as tf from '@tensorflow/tfjs-core';
import type { DepthwiseConv2dSpec } from '../spec.js';
import { convOutSize, expectImage, fuseBias, tfPad } from './conv-shapes.js';
import type { OpDef } from './op-def.js';

export const depthwiseConv2dOp: OpDef<DepthwiseConv2dSpec> = {
  op: 'depthwiseConv2d',
  arity: 1,
  params(spec, [s]) {
    const [kh, kw] = spec.kernelSize;
    const c = s![2]!;
    const m = spec.depthMultiplier;
    const p: ReturnType<OpDef['params']> = {
      kernel: { shape: [kh, kw, c, m], init: 'heNormal', fanIn: kh * kw, fanOut: kh * kw * m, trainable: true },
    };
    if (spec.useBias) p['bias'] = { shape: [c * m], init: 'zeros', trainable: true };
    return p;
  },
  outputShape(spec, [s]) {
    expectImage('depthwiseConv2d', spec.name, s!);
    const ho = convOutSize(s![0]!, spec.kernelSize[0], spec.strides[0], spec.padding, 0);
    const wo = convOutSize(s![1]!, spec.kernelSize[1], spec.strides[1], spec.padding, 1);
    return [ho, wo, s![2]! * spec.depthMultiplier];
  },
  forward(spec, [x], p) {
    const bias = p['bias'];
    // (tfjs's fused depthwise op takes no explicit padding)
    if (fuseBias(bias) && !spec.separateBias && !Array.isArray(spec.padding)) return tf.fused.depthwiseConv2d({ x: x as tf.Tensor4D, filter: p['kernel'] as tf.Tensor4D, strides: spec.strides, pad: spec.padding, bias });
    const y = tf.depthwiseConv2d(x as tf.Tensor4D, p['kernel'] as tf.Tensor4D, spec.strides, tfPad(spec.padding));
    return bias ? tf.add(y, bias) : y;
  },
  macs(spec, _in, out) {
    return out[0]! * out[1]! * spec.kernelSize[0] * spec.kernelSize[1] * out[2]!;
  },
};
