import * as tf from '@tensorflow/tfjs-core';
import { LowbitError } from '@lowbit/core';
import type { Conv2dTransposeSpec, Shape } from '../spec.js';
import { convOutSize, expectImage } from './conv-shapes.js';
import type { OpDef } from './op-def.js';

/**
 * Along one axis, the zero padding before and after the input, once it is spread out by the
 * stride, for which a stride-1 VALID convolution with the flipped kernel is the transposed
 * convolution (negative: that many values are cut). TF's convention: the forward convolution
 * pads `floor(total / 2)` before.
 */
export function transposePadding(inSize: number, outSize: number, k: number, stride: number, padding: 'same' | 'valid'): [number, number] {
  const before = padding === 'same' ? Math.floor(Math.max((inSize - 1) * stride + k - outSize, 0) / 2) : 0;
  const left = k - 1 - before;
  return [left, outSize + k - 1 - ((inSize - 1) * stride + 1) - left];
}

/** `x` [N, H, W, C] with `s − 1` zeros between neighbouring pixels: [N, (H−1)·s0 + 1, (W−1)·s1 + 1, C]. */
function spread(x: tf.Tensor4D, [s0, s1]: [number, number]): tf.Tensor4D {
  if (s0 === 1 && s1 === 1) return x;
  const [n, h, w, c] = x.shape;
  const z = tf.pad(tf.reshape(x, [n, h, 1, w, 1, c]), [[0, 0], [0, 0], [0, s0 - 1], [0, 0], [0, s1 - 1], [0, 0]]);
  return tf.slice(tf.reshape(z, [n, h * s0, w * s1, c]) as tf.Tensor4D, [0, 0, 0, 0], [n, (h - 1) * s0 + 1, (w - 1) * s1 + 1, c]);
}

/** Pads (or, for negative amounts, cuts) the two spatial axes. */
function padOrCut(x: tf.Tensor4D, p: [[number, number], [number, number]]): tf.Tensor4D {
  const cut = p.map(([a, b]) => [Math.max(-a, 0), Math.max(-b, 0)] as const);
  let y = x;
  if (cut.some(([a, b]) => a || b)) {
    const [n, h, w, c] = x.shape;
    y = tf.slice(y, [0, cut[0]![0], cut[1]![0], 0], [n, h - cut[0]![0] - cut[0]![1], w - cut[1]![0] - cut[1]![1], c]);
  }
  const pad = p.map(([a, b]) => [Math.max(a, 0), Math.max(b, 0)] as [number, number]);
  return pad.some(([a, b]) => a || b) ? tf.pad(y, [[0, 0], pad[0]!, pad[1]!, [0, 0]]) : y;
}

export const conv2dTransposeOp: OpDef<Conv2dTransposeSpec> = {
  op: 'conv2dTranspose',
  arity: 1,
  params(spec, [s]) {
    const [kh, kw] = spec.kernelSize;
    const cin = s![2]!;
    const p: ReturnType<OpDef['params']> = {
      kernel: { shape: [kh, kw, spec.filters, cin], init: 'heNormal', fanIn: kh * kw * cin, fanOut: kh * kw * spec.filters, trainable: true },
    };
    if (spec.useBias) p['bias'] = { shape: [spec.filters], init: 'zeros', trainable: true };
    return p;
  },
  outputShape(spec, [s]) {
    expectImage('conv2dTranspose', spec.name, s!);
    // the forward convolution of an outputSize input must give this input's size
    for (const a of [0, 1] as const) {
      const back = convOutSize(spec.outputSize[a], spec.kernelSize[a], spec.strides[a], spec.padding, a);
      if (back !== s![a]) {
        throw new LowbitError('E_SHAPE', `conv2dTranspose '${spec.name}': output size [${spec.outputSize.join(', ')}] does not fit input [${s!.join(', ')}] (a ${spec.padding} convolution with kernel [${spec.kernelSize.join(', ')}], strides [${spec.strides.join(', ')}] maps ${spec.outputSize[a]} to ${back}, not ${s![a]})`);
      }
    }
    return [spec.outputSize[0], spec.outputSize[1], spec.filters];
  },
  forward(spec, [x], p) {
    // a stride-1 convolution of the spread-out input with the flipped kernel (in / out swapped):
    // XNNPACK runs it, and its gradients are those of conv2d, pad and slice
    const x4 = x as tf.Tensor4D;
    const [, h, w] = x4.shape;
    const pad: [[number, number], [number, number]] = [
      transposePadding(h, spec.outputSize[0], spec.kernelSize[0], spec.strides[0], spec.padding),
      transposePadding(w, spec.outputSize[1], spec.kernelSize[1], spec.strides[1], spec.padding),
    ];
    const k = tf.transpose(tf.reverse(p['kernel']!, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
    const y = tf.conv2d(padOrCut(spread(x4, spec.strides), pad), k, 1, 'valid');
    return p['bias'] ? tf.add(y, p['bias']) : y;
  },
  macs(spec, [s]: Shape[]) {
    // each input pixel meets every kernel tap once
    return s![0]! * s![1]! * spec.kernelSize[0] * spec.kernelSize[1] * s![2]! * spec.filters;
  },
};
