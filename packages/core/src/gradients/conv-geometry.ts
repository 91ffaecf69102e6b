import * as tf from '@tensorflow/tfjs-core';

/** Pads (positive amounts) or crops (negative amounts) the two spatial axes of an NHWC tensor. */
export function padOrCrop(x: tf.Tensor4D, top: number, bottom: number, left: number, right: number): tf.Tensor4D {
  let y = x;
  if (top < 0 || bottom < 0 || left < 0 || right < 0) {
    const [n, h, w, c] = y.shape;
    const t0 = Math.max(0, -top);
    const l0 = Math.max(0, -left);
    const hh = h - t0 - Math.max(0, -bottom);
    const ww = w - l0 - Math.max(0, -right);
    y = tf.slice(y, [0, t0, l0, 0], [n, hh, ww, c]);
  }
  const pt = Math.max(0, top);
  const pb = Math.max(0, bottom);
  const pl = Math.max(0, left);
  const pr = Math.max(0, right);
  if (pt || pb || pl || pr) {
    y = tf.pad(y, [
      [0, 0],
      [pt, pb],
      [pl, pr],
      [0, 0],
    ]);
  }
  return y;
}

/**
 * Inserts `sh - 1` zero rows and `sw - 1` zero columns between the spatial positions of an NHWC
 * tensor, then pads/crops it: the input of a stride-1 convolution that equals a strided
 * convolution's input gradient. Sizes before padding are `(H-1)·sh + 1` × `(W-1)·sw + 1`.
 */
export function dilateAndPad(
  dy: tf.Tensor4D,
  sh: number,
  sw: number,
  top: number,
  bottom: number,
  left: number,
  right: number,
): tf.Tensor4D {
  if (sh === 1 && sw === 1) return padOrCrop(dy, top, bottom, left, right);
  const [n, h, w, c] = dy.shape;
  // [N, H, 1, W, 1, C] → zero-pad the unit axes to the strides → [N, H·sh, W·sw, C]; the trailing
  // (sh-1) rows / (sw-1) columns are surplus and cropped from the bottom/right amounts.
  const r = tf.reshape(dy, [n * h, 1, w, 1, c]);
  const p = tf.pad(r, [
    [0, 0],
    [0, sh - 1],
    [0, 0],
    [0, sw - 1],
    [0, 0],
  ]);
  const up = tf.reshape(p, [n, h * sh, w * sw, c]) as tf.Tensor4D;
  return padOrCrop(up, top, bottom - (sh - 1), left, right - (sw - 1));
}

/** Geometry of a 2-D convolution as tfjs computes it (NHWC, dilation 1). */
export interface ConvGeometry {
  inHeight: number;
  inWidth: number;
  outHeight: number;
  outWidth: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  padTop: number;
  padLeft: number;
}

export function convGeometry(
  xShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  strides: number | [number, number],
  pad: unknown,
  dimRoundingMode: unknown,
  depthwise: boolean,
): ConvGeometry {
  const info = tf.backend_util.computeConv2DInfo(
    xShape,
    filterShape,
    strides,
    1,
    pad as 'same',
    dimRoundingMode as 'round' | undefined,
    depthwise,
  );
  return {
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    filterHeight: info.filterHeight,
    filterWidth: info.filterWidth,
    strideHeight: info.strideHeight,
    strideWidth: info.strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
}

/**
 * Input gradient of a convolution as the forward convolution `conv` of the stride-dilated,
 * padded output gradient with the 180°-rotated filter (`prepareFilter` does the rotation and any
 * channel swap the convolution kind needs).
 */
export function inputGradPadding(g: ConvGeometry): [number, number, number, number] {
  const top = g.filterHeight - 1 - g.padTop;
  const left = g.filterWidth - 1 - g.padLeft;
  const bottom = g.inHeight - 1 + g.padTop - (g.outHeight - 1) * g.strideHeight;
  const right = g.inWidth - 1 + g.padLeft - (g.outWidth - 1) * g.strideWidth;
  return [top, bottom, left, right];
}

/**
 * Padding of the input for the filter gradient: the input convolved (dilation = stride) with the
 * output gradient as a filter must produce exactly `filterHeight × filterWidth` positions.
 */
export function filterGradPadding(g: ConvGeometry): [number, number, number, number] {
  const bottom = g.filterHeight + (g.outHeight - 1) * g.strideHeight - g.inHeight - g.padTop;
  const right = g.filterWidth + (g.outWidth - 1) * g.strideWidth - g.inWidth - g.padLeft;
  return [g.padTop, bottom, g.padLeft, right];
}

export function assertNhwcUndilated(kernel: string, attrs: Record<string, unknown>): void {
  const fmt = attrs['dataFormat'];
  if (fmt != null && fmt !== 'NHWC' && fmt !== 'channelsLast') {
    throw new Error(`lowbit ${kernel} gradient: only NHWC is supported, got dataFormat=${String(fmt)}`);
  }
  const d = attrs['dilations'];
  const ok = d == null || d === 1 || (Array.isArray(d) && d.every((v) => v === 1));
  if (!ok) throw new Error(`lowbit ${kernel} gradient: dilations must be 1, got ${JSON.stringify(d)}`);
}
