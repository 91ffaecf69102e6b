import * as tf from '@tensorflow/tfjs-core';
import { assertNhwcUndilated, convGeometry, dilateAndPad, filterGradPadding, inputGradPadding, padOrCrop } from './conv-geometry.js';

/**
 * Gradient of `Conv2D` built from forward convolutions only (which XNNPACK runs fast on wasm;
 * wasm has no `Conv2DBackpropFilter` and a slow `Conv2DBackpropInput`):
 * - dx = conv2d(dy dilated by the stride and padded, filter rotated 180° with in/out swapped);
 * - dW = conv2d(xᵀ as [Cin, H, W, N], dyᵀ as a filter [Ho, Wo, N, Cout], dilation = stride),
 *   transposed back to [kh, kw, Cin, Cout].
 */
export const conv2dGradConfig: tf.GradConfig = {
  kernelName: tf.Conv2D,
  inputsToSave: ['x', 'filter'],
  gradFunc: (dy, saved, attrs) => {
    const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
    assertNhwcUndilated('Conv2D', attrs);
    const g = convGeometry(x.shape, filter.shape, attrs['strides'] as [number, number], attrs['pad'], attrs['dimRoundingMode'], false);
    const d = dy as tf.Tensor4D;
    return {
      x: () => conv2dInputGrad(d, filter, g),
      filter: () => conv2dFilterGrad(x, d, g),
    };
  },
};

function conv2dInputGrad(dy: tf.Tensor4D, filter: tf.Tensor4D, g: ReturnType<typeof convGeometry>): tf.Tensor4D {
  const [top, bottom, left, right] = inputGradPadding(g);
  const dyp = dilateAndPad(dy, g.strideHeight, g.strideWidth, top, bottom, left, right);
  const rotated = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
  return tf.conv2d(dyp, rotated, 1, 'valid');
}

function conv2dFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, g: ReturnType<typeof convGeometry>): tf.Tensor4D {
  const [top, bottom, left, right] = filterGradPadding(g);
  const xt = padOrCrop(tf.transpose(x, [3, 1, 2, 0]) as tf.Tensor4D, top, bottom, left, right);
  const dyt = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D;
  const r = tf.conv2d(xt, dyt, 1, 'valid', 'NHWC', [g.strideHeight, g.strideWidth]);
  return tf.transpose(r, [1, 2, 0, 3]);
}
