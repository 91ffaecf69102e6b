import * as tf from '@tensorflow/tfjs-core';
import { type DepthwiseDims, kernels, tensorValues } from '../kernels/runtime.js';
import { assertNhwcUndilated, convGeometry, dilateAndPad, filterGradPadding, inputGradPadding, padOrCrop } from './conv-geometry.js';

/**
 * Gradient of `DepthwiseConv2dNative` from forward depthwise convolutions (wasm has neither
 * `DepthwiseConv2dNativeBackpropInput` nor `…BackpropFilter`):
 * - dx = depthwise conv of the dilated, padded dy with the 180°-rotated filter (one pass per
 *   channel multiplier);
 * - dW = depthwise conv over the batch-as-channels layout [1, H, W, N·C] with dy as a
 *   [Ho, Wo, N·C, M] filter (dilation = stride), summed over the batch.
 * With channel multiplier 1 and lowbit's WebAssembly kernels loaded (`initBackend` loads them),
 * both gradients run in those SIMD kernels instead; the op path above is the fallback.
 */
export const depthwiseConv2dGradConfig: tf.GradConfig = {
  kernelName: tf.DepthwiseConv2dNative,
  inputsToSave: ['x', 'filter'],
  gradFunc: (dy, saved, attrs) => {
    const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
    assertNhwcUndilated('DepthwiseConv2dNative', attrs);
    const g = convGeometry(x.shape, filter.shape, attrs['strides'] as [number, number], attrs['pad'], attrs['dimRoundingMode'], true);
    const d = dy as tf.Tensor4D;
    const k = filter.shape[3] === 1 ? kernels() : null;
    if (k) {
      const dims = kernelDims(x.shape, d.shape, filter.shape, g);
      return {
        // inputs are read straight from the tfjs heap (the kernel copies them in before any tfjs call)
        x: () => tf.tensor4d(k.depthwiseInputGrad(tensorValues(d), tensorValues(filter), dims), x.shape),
        filter: () => tf.tensor4d(k.depthwiseFilterGrad(tensorValues(x), tensorValues(d), dims), filter.shape),
      };
    }
    return {
      x: () => depthwiseInputGrad(d, filter, g),
      filter: () => depthwiseFilterGrad(x, d, filter.shape, g),
    };
  },
};

function depthwiseInputGrad(dy: tf.Tensor4D, filter: tf.Tensor4D, g: ReturnType<typeof convGeometry>): tf.Tensor4D {
  const [top, bottom, left, right] = inputGradPadding(g);
  const [kh, kw, c, m] = filter.shape;
  const rotated = tf.reverse(filter, [0, 1]) as tf.Tensor4D;
  if (m === 1) {
    const dyp = dilateAndPad(dy, g.strideHeight, g.strideWidth, top, bottom, left, right);
    return tf.depthwiseConv2d(dyp, rotated, 1, 'valid');
  }
  const [n, ho, wo] = dy.shape;
  const dy5 = tf.reshape(dy, [n, ho, wo, c, m]);
  let acc: tf.Tensor4D | null = null;
  for (let j = 0; j < m; j++) {
    const dyj = tf.reshape(tf.slice(dy5, [0, 0, 0, 0, j], [n, ho, wo, c, 1]), [n, ho, wo, c]) as tf.Tensor4D;
    const fj = tf.slice(rotated, [0, 0, 0, j], [kh, kw, c, 1]);
    const dyp = dilateAndPad(dyj, g.strideHeight, g.strideWidth, top, bottom, left, right);
    const part = tf.depthwiseConv2d(dyp, fj, 1, 'valid');
    acc = acc === null ? part : (tf.add(acc, part) as tf.Tensor4D);
  }
  return acc!;
}

function depthwiseFilterGrad(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  g: ReturnType<typeof convGeometry>,
): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const [kh, kw, , m] = filterShape;
  const [, ho, wo] = dy.shape;
  const [top, bottom, left, right] = filterGradPadding(g);
  const xb = tf.reshape(tf.transpose(x, [1, 2, 0, 3]), [1, h, w, n * c]) as tf.Tensor4D;
  const xp = padOrCrop(xb, top, bottom, left, right);
  const dyf = tf.reshape(tf.transpose(dy, [1, 2, 0, 3]), [ho, wo, n * c, m]) as tf.Tensor4D;
  const r = tf.depthwiseConv2d(xp, dyf, 1, 'valid', 'NHWC', [g.strideHeight, g.strideWidth]);
  return tf.sum(tf.reshape(r, [kh, kw, n, c, m]), 2) as tf.Tensor4D;
}

function kernelDims(
  xs: [number, number, number, number],
  ds: [number, number, number, number],
  fs: [number, number, number, number],
  g: ReturnType<typeof convGeometry>,
): DepthwiseDims {
  return {
    n: xs[0],
    h: xs[1],
    w: xs[2],
    c: xs[3],
    ho: ds[1],
    wo: ds[2],
    kh: fs[0],
    kw: fs[1],
    sh: g.strideHeight,
    sw: g.strideWidth,
    pt: g.padTop,
    pl: g.padLeft,
  };
}
