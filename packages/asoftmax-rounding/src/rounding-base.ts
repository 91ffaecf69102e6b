import * as tf from '@tensorflow/tfjs-core';
import { type HardenedTensor, LowbitError, type StepSizeInit } from '@lowbit/core';

/**
 * What both learned-rounding quantizers share: a fixed step, the floor codes and the grid. Codes
 * are kept relative to the zero point (`c = q − z`, value `s·c`): a symmetric grid clips them to
 * `[qmin, qmax]`, an asymmetric one to `[−z, 2^b − 1 − z]` per channel (`lo`, `hi`).
 */
export interface RoundingBase {
  bits: number;
  qmin: number;
  qmax: number;
  /** Zero points of an asymmetric grid (one per channel), or null for a symmetric one. */
  zeroPoints: Int32Array | null;
  /** Per-channel clip bounds `−z` and `2^b − 1 − z` of an asymmetric grid, shaped like `scale`. */
  lo: tf.Tensor | null;
  hi: tf.Tensor | null;
  /** Channel axis of the steps, or null for one step. */
  axis: number | null;
  /** Steps as given by the initialiser (one per channel). */
  steps: Float32Array;
  /** Steps shaped to broadcast against the weight. */
  scale: tf.Tensor;
  /** `⌊w/s⌋` */
  base: tf.Tensor;
  /** `w/s − ⌊w/s⌋` in [0, 1), kept as a plain array for initialisation. */
  frac: Float32Array;
}

export function checkBits(bits: number): void {
  if (!Number.isInteger(bits) || bits < 2 || bits > 8) throw new LowbitError('E_BITS', `bits must be an integer from 2 to 8, got ${bits}`);
}

/** Resolves the channel axis option (default: last axis; null: per tensor). */
export function resolveAxis(axis: number | null | undefined, rank: number): number | null {
  if (axis === null) return null;
  const a = axis ?? rank - 1;
  const n = a < 0 ? rank + a : a;
  if (!Number.isInteger(n) || n < 0 || n >= rank) throw new LowbitError('E_AXIS', `channel axis ${axis} is out of range for a weight of rank ${rank}`);
  return n;
}

export function makeBase(w: tf.Tensor, bits: number, axis: number | null, initStep: StepSizeInit): RoundingBase {
  checkBits(bits);
  const values = w.dataSync();
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!)) throw new LowbitError('E_NONFINITE', `cannot quantize a non-finite weight (${values[i]}) at flat index ${i}`);
  }
  const init = initStep(w, bits, axis);
  const steps = init instanceof Float32Array ? init : init.steps;
  const zeroPoints = init instanceof Float32Array ? null : init.zeroPoints;
  const channels = axis === null ? 1 : w.shape[axis]!;
  if (steps.length !== channels) throw new LowbitError('E_STEP', `step initialiser returned ${steps.length} steps, expected ${channels}`);
  for (const s of steps) if (!(s > 0) || !Number.isFinite(s)) throw new LowbitError('E_STEP', `step sizes must be positive and finite, got ${s}`);
  const shape = axis === null ? [] : w.shape.map((d, i) => (i === axis ? d : 1));
  if (zeroPoints && zeroPoints.length !== channels) throw new LowbitError('E_STEP', `step initialiser returned ${zeroPoints.length} zero points, expected ${channels}`);
  const top = 2 ** bits - 1;
  if (zeroPoints) for (const z of zeroPoints) if (!(Number.isInteger(z) && z >= 0 && z <= top)) throw new LowbitError('E_STEP', `zero points must be integers 0..${top}, got ${z}`);
  const scale = tf.tensor(steps, shape, 'float32');
  const lo = zeroPoints ? tf.tensor(Float32Array.from(zeroPoints, (z) => -z), shape, 'float32') : null;
  const hi = zeroPoints ? tf.tensor(Float32Array.from(zeroPoints, (z) => top - z), shape, 'float32') : null;
  const [base, fracT] = tf.tidy(() => {
    const v = tf.div(w, scale);
    const f = tf.floor(v);
    return [f, tf.sub(v, f)];
  });
  const frac = fracT.dataSync() as Float32Array;
  fracT.dispose();
  return { bits, qmin: -(2 ** (bits - 1)), qmax: 2 ** (bits - 1) - 1, zeroPoints, lo, hi, axis, steps, scale, base, frac };
}

/** Codes clipped to the grid: `[qmin, qmax]`, or per channel `[−z, 2^b − 1 − z]` (asymmetric). */
export function clipCodes(b: RoundingBase, c: tf.Tensor): tf.Tensor {
  return b.lo && b.hi ? tf.minimum(tf.maximum(c, b.lo), b.hi) : tf.clipByValue(c, b.qmin, b.qmax);
}

/** Integer codes `clip(base + offset)` as exported data (asymmetric: unsigned, `c + z`). */
export function hardenBase(b: RoundingBase, offset: tf.Tensor, shape: number[]): HardenedTensor {
  const zp = b.zeroPoints;
  const t = tf.tidy(() => {
    const c = clipCodes(b, tf.add(b.base, offset));
    return zp ? tf.sub(c, b.lo!) : c;
  });
  const codes = t.dataSync();
  t.dispose();
  return {
    codes: zp ? Int32Array.from(codes) : Int8Array.from(codes),
    shape: shape.slice(),
    scale: b.steps.slice(),
    zeroPoint: zp ? zp.slice() : new Int32Array(b.steps.length),
    bits: b.bits,
    signed: !zp,
    axis: b.axis,
  };
}

export function disposeBase(b: RoundingBase): void {
  b.scale.dispose();
  b.base.dispose();
  b.lo?.dispose();
  b.hi?.dispose();
}
