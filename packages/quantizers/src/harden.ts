import * as tf from '@tensorflow/tfjs-core';
import type { HardenedTensor } from '@lowbit/core';
import { broadcastShape, type Grid } from './grid.js';

/**
 * Integer codes of `x` on a grid: `clip(⌊x/s⌉ + z, qmin, qmax)`, with the per-channel scale and
 * zero point (along `axis`) or one of each (`axis` null). `dequantizeHardened` of the result
 * equals {@link fakeQuantize}'s output bit for bit.
 */
export function hardenTensor(x: tf.Tensor, scale: Float32Array, zeroPoint: Int32Array, g: Grid, axis: number | null): HardenedTensor {
  const codes = tf.tidy(() => {
    const shape = axis === null ? [] : broadcastShape(axis, x.rank, scale.length);
    const s = tf.tensor(scale, shape.length ? shape : [], 'float32');
    const z = tf.tensor(Float32Array.from(zeroPoint), shape.length ? shape : [], 'float32');
    return tf.clipByValue(tf.round(tf.add(tf.div(x, s), z)), g.qmin, g.qmax).dataSync();
  });
  // signed codes (bits ≤ 8) fit Int8; unsigned 8-bit codes reach 255 and go to Int32
  const out = g.signed ? new Int8Array(codes.length) : new Int32Array(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = codes[i]!;
  return { codes: out, shape: x.shape.slice(), scale: scale.slice(), zeroPoint: zeroPoint.slice(), bits: g.bits, signed: g.signed, axis };
}

/** Float values of hardened codes: `scale·(code − zeroPoint)` in float32, channel-wise along `axis`. */
export function dequantizeHardened(h: HardenedTensor): Float32Array {
  const out = new Float32Array(h.codes.length);
  const f32 = new Float32Array(1);
  if (h.axis === null) {
    const s = h.scale[0]!;
    const z = h.zeroPoint[0]!;
    for (let i = 0; i < out.length; i++) {
      f32[0] = (h.codes[i]! - z) * s;
      out[i] = f32[0]!;
    }
    return out;
  }
  const inner = h.shape.slice(h.axis + 1).reduce((a, b) => a * b, 1);
  const c = h.shape[h.axis]!;
  for (let i = 0; i < out.length; i++) {
    const ch = Math.floor(i / inner) % c;
    f32[0] = (h.codes[i]! - h.zeroPoint[ch]!) * h.scale[ch]!;
    out[i] = f32[0]!;
  }
  return out;
}
