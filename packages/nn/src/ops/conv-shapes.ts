import * as tf from '@tensorflow/tfjs-core';
import { LowbitError } from '@lowbit/core';
import type { Padding, Shape } from '../spec.js';

/** Throws unless `s` is an image shape `[H, W, C]` (the input of op `op` of node `name`). */
export function expectImage(op: string, name: string, s: Shape): void {
  if (s.length !== 3) throw new LowbitError('E_SHAPE', `${op} '${name}': expected an [H, W, C] input, got [${s.join(', ')}]`);
}

/**
 * Whether a layer adds its bias inside the convolution / matmul (tfjs's fused ops, as stock TF.js
 * runs `_FusedConv2D`, `FusedDepthwiseConv2dNative`, `_FusedMatMul` and Keras layers with a bias):
 * only when no gradient is being recorded, the rule tfjs's fused ops follow themselves. XNNPACK
 * starts the sum at the bias, so the result differs from conv + add in the last bits; through a
 * deep decoder that grows to 10⁻³. Under a gradient the unfused ops keep lowbit's
 * forward-convolution gradients.
 */
export function fuseBias(bias: tf.Tensor | undefined): bias is tf.Tensor {
  return bias !== undefined && tf.engine().state.gradientDepth === 0;
}

/** Output size along one spatial axis, as tfjs computes it (dilation 1). */
export function convOutSize(inSize: number, k: number, stride: number, padding: Padding, axis: 0 | 1): number {
  if (padding === 'same') return Math.ceil(inSize / stride);
  if (padding === 'valid') return Math.ceil((inSize - k + 1) / stride);
  const [a, b] = padding[axis];
  return Math.floor((inSize + a + b - k) / stride) + 1;
}

/** The `pad` argument tfjs conv ops take (NHWC explicit padding for explicit amounts). */
export function tfPad(padding: Padding): 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]] {
  if (padding === 'same' || padding === 'valid') return padding;
  return [[0, 0], padding[0], padding[1], [0, 0]];
}
