import * as tf from '@tensorflow/tfjs-core';
import { assertNhwcUndilated, convGeometry, dilateAndPad, filterGradPadding, inputGradPadding, padOrCrop } from './conv-geometry.js';

/**
 * Gradient of `Conv2D` built from forward convolutions only (which XNNPACK runs fast on wasm;
 * wasm has no `Conv2DBackpropFilter` and a slow `Conv2DBackpropInput`):
 * - dx = conv2d(dy dilated by the stride and padded, filter rotated 180° with in/out swapped);
 * - dW = conv2d(xᵀ as [Cin, H, W, N], dyᵀ as a filter [Ho, Wo, N, Cout], dilation = stride),
 *   transposed back to [kh, kw, Cin, Cout].
 * A 1×1 convolution without padding (most of a MobileNet) is a matrix product per position, and so
 * are its gradients: dx = dy·Wᵀ (stride 1), dW = xᵀ·dy over the strided positions — one GEMM each,
 * where the convolution forms above would transpose, rotate and run a conv of N input channels.
 */
export const conv2dGradConfig: tf.GradConfig = {
  kernelName: tf.Conv2D,
  inputsToSave: ['x', 'filter'],
  gradFunc: (dy, saved, attrs) => {
    const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
    assertNhwcUndilated('Conv2D', attrs);
    const g = convGeometry(x.shape, filter.shape, attrs['strides'] as [number, number], attrs['pad'], attrs['dimRoundingMode'], false);
    const d = dy as tf.Tensor4D;
    if (filter.shape[0] === 1 && filter.shape[1] === 1 && g.padTop === 0 && g.padLeft === 0) {
      return {
        x: () => (g.strideHeight === 1 && g.strideWidth === 1 ? pointwiseInputGrad(d, filter) : conv2dInputGrad(d, filter, g)),
        filter: () => pointwiseFilterGrad(x, d, g),
      };
    }
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

function pointwiseInputGrad(dy: tf.Tensor4D, filter: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w, cout] = dy.shape;
  const cin = filter.shape[2];
  // explicit transposes: tfjs-wasm's matMul with a transpose flag is ~8× slower than without
  const dx = tf.matMul(tf.reshape(dy, [n * h * w, cout]), tf.transpose(tf.reshape(filter, [cin, cout])));
  return tf.reshape(dx, [n, h, w, cin]);
}

function pointwiseFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, g: ReturnType<typeof convGeometry>): tf.Tensor4D {
  const [n, h, w, cin] = x.shape;
  const [, ho, wo, cout] = dy.shape;
  const sh = g.strideHeight;
  const sw = g.strideWidth;
  // the input positions the strided 1×1 convolution reads
  const xs = sh === 1 && sw === 1 && ho === h && wo === w ? x : stridedPositions(x, ho, wo, sh, sw);
  const dW = tf.matMul(tf.transpose(tf.reshape(xs, [n * ho * wo, cin])), tf.reshape(dy, [n * ho * wo, cout]));
  return tf.reshape(dW, [1, 1, cin, cout]);
}

/**
 * `x[:, ::sh, ::sw, :]` cut to `[n, ho, wo, c]`. When the strides tile the input exactly, a
 * reshape to `[n·ho, sh, wo, sw·c]` and a contiguous slice of the first row and the first `c`
 * columns of each tile: on wasm 4–15× faster than `stridedSlice`, whose kernel walks every
 * element (measured at batch 64: 28×28×16 63.8 → 15.5 ms, 14×14×32 33.6 → 2.2 ms).
 */
function stridedPositions(x: tf.Tensor4D, ho: number, wo: number, sh: number, sw: number): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  if (h === ho * sh && w === wo * sw) {
    return tf.reshape(tf.slice(tf.reshape(x, [n * ho, sh, wo, sw * c]), [0, 0, 0, 0], [n * ho, 1, wo, c]), [n, ho, wo, c]);
  }
  return tf.stridedSlice(x, [0, 0, 0, 0], [n, (ho - 1) * sh + 1, (wo - 1) * sw + 1, c], [1, sh, sw, 1]) as tf.Tensor4D;
}
