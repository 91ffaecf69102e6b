import * as tf from '@tensorflow/tfjs-core';
import { LowbitError } from '@lowbit/core';

/**
 * One candidate grid of a weight quantizer: `x = w / step + zeroPoint`, quantized to
 * `clip(round(x), qmin, qmax)`.
 */
export interface CandidateGrid {
  /** Bit-width of the candidate (an integer from 1 to 32); {@link turbulence} divides by it. */
  bits: number;
  /**
   * Step size(s), all positive and finite, broadcastable to the weight without enlarging it:
   * `[]` per tensor, `[1, 1, 1, C]` (or `[C]`) per output channel of a conv kernel `[kh, kw, cin, C]`.
   */
  step: tf.Tensor;
  /** Lowest integer level (e.g. −2^(b−1) for a signed grid). */
  qmin: number;
  /** Highest integer level (e.g. 2^(b−1) − 1); `qmax − qmin` is at most `2^bits − 1`. */
  qmax: number;
  /** Optional integer offset added after dividing by the step, broadcastable like `step`. */
  zeroPoint?: tf.Tensor;
}

/** Default half-width of the near-boundary band, in steps (the reference code's 0.25 proportion / 2). */
export const DEFAULT_THRESHOLD = 0.125;

function fail(message: string): never {
  throw new LowbitError('E_ARG', message);
}

function checkThreshold(threshold: number): void {
  if (!(Number.isFinite(threshold) && threshold >= 0 && threshold <= 0.5)) {
    fail(`boundary threshold must be a number of steps in [0, 0.5], got ${threshold}`);
  }
}

/** Throws unless `t` broadcasts to `w`'s shape without enlarging it (trailing dimensions aligned). */
function checkBroadcast(t: tf.Tensor, w: tf.Tensor, what: string): void {
  const ok = t.rank <= w.rank && t.shape.every((d, i) => d === 1 || d === w.shape[w.rank - t.rank + i]);
  if (!ok) {
    throw new LowbitError('E_SHAPE', `${what} of shape [${t.shape.join(', ')}] does not broadcast to the weight shape [${w.shape.join(', ')}]`);
  }
}

function checkGrid(w: tf.Tensor, g: CandidateGrid, i: number): void {
  const what = `candidate grid ${i} (${g.bits} bits)`;
  if (!(Number.isInteger(g.bits) && g.bits >= 1 && g.bits <= 32)) fail(`candidate grid ${i}: bits must be an integer from 1 to 32, got ${g.bits}`);
  if (!(Number.isInteger(g.qmin) && Number.isInteger(g.qmax) && g.qmin < g.qmax)) {
    fail(`${what}: qmin and qmax must be integers with qmin < qmax, got qmin ${g.qmin}, qmax ${g.qmax}`);
  }
  if (g.qmax - g.qmin > 2 ** g.bits - 1) {
    fail(`${what}: the range [${g.qmin}, ${g.qmax}] has ${g.qmax - g.qmin + 1} levels, more than 2^${g.bits} = ${2 ** g.bits}`);
  }
  checkBroadcast(g.step, w, `${what}: step`);
  const steps = g.step.dataSync();
  for (let k = 0; k < steps.length; k++) {
    const s = steps[k]!;
    if (!(Number.isFinite(s) && s > 0)) fail(`${what}: steps must be positive and finite, got ${s} at flat index ${k}`);
  }
  if (g.zeroPoint !== undefined) {
    checkBroadcast(g.zeroPoint, w, `${what}: zeroPoint`);
    const zs = g.zeroPoint.dataSync();
    for (let k = 0; k < zs.length; k++) if (!Number.isFinite(zs[k]!)) fail(`${what}: zero points must be finite, got ${zs[k]} at flat index ${k}`);
  }
}

function checkWeight(w: tf.Tensor): void {
  if (w.dtype !== 'float32') fail(`the weight must be a float32 tensor, got ${w.dtype}`);
  if (w.size === 0) fail(`the weight is empty (shape [${w.shape.join(', ')}])`);
}

/** Number of elements of `w` near a rounding boundary of `g` (an int32 scalar). */
function nearBoundaryCount(w: tf.Tensor, g: CandidateGrid, threshold: number): tf.Tensor {
  const scaled = tf.div(w, g.step);
  const x = g.zeroPoint === undefined ? scaled : tf.add(scaled, g.zeroPoint);
  const lower = tf.floor(x);
  const near = tf.less(tf.abs(tf.sub(tf.sub(x, lower), 0.5)), threshold);
  const between = tf.logicalAnd(tf.greaterEqual(lower, g.qmin), tf.lessEqual(lower, g.qmax - 1));
  return tf.sum(tf.cast(tf.logicalAnd(near, between), 'int32'));
}

/** Near-boundary fractions of `w` for each grid, in one pass (a single read-back). */
function boundaryFractions(w: tf.Tensor, grids: readonly CandidateGrid[], threshold: number): number[] {
  checkWeight(w);
  checkThreshold(threshold);
  for (let i = 0; i < grids.length; i++) checkGrid(w, grids[i]!, i);
  const counts = tf.tidy(() => tf.stack(grids.map((g) => nearBoundaryCount(w, g, threshold))).dataSync());
  return Array.from(counts, (c) => c / w.size);
}

/**
 * Fraction of the weights within `threshold · step` of a rounding boundary of grid `g`.
 *
 * With `x = w / step + zeroPoint` (zero point optional) the boundaries are the midpoints
 * `k + 0.5` between two levels `k` and `k + 1` that are both representable
 * (`qmin ≤ k` and `k + 1 ≤ qmax`). A weight is near a boundary when
 * `|x − ⌊x⌋ − 0.5| < threshold` and `qmin ≤ ⌊x⌋ ≤ qmax − 1`; a weight clipped to `qmin` or
 * `qmax` (outside the grid's range by more than half a step) is never near. Such weights flip
 * levels under small updates — the "bit-width interference" of weight-coupled training.
 *
 * @param threshold half-width of the band in steps, in [0, 0.5] (default 0.125, i.e. the
 *   outer quarter of each rounding interval).
 * @returns a number in [0, 1]; reads the result back synchronously, disposes all intermediates.
 *
 * @example
 * boundaryFraction(tf.tensor([0.1, 0.45, 0.55, 0.9, 5]), { bits: 2, step: tf.scalar(1), qmin: -2, qmax: 1 }); // 0.4
 */
export function boundaryFraction(w: tf.Tensor, g: CandidateGrid, threshold = DEFAULT_THRESHOLD): number {
  return boundaryFractions(w, [g], threshold)[0]!;
}

/**
 * Turbulence of a layer: the mean over its candidate grids of `boundaryFraction(w, g) / g.bits`,
 * so that near-boundary weights count more at low bit-widths, where a flip moves the weight by a
 * larger share of its range. Pass the grids of the candidates the layer trained with during the
 * last period (the reference code measures the layer's current candidate set). Throws when
 * `grids` is empty.
 *
 * @example
 * turbulence(kernel, [2, 3, 4].map((b) => ({ bits: b, step: steps[b], qmin: -(2 ** (b - 1)), qmax: 2 ** (b - 1) - 1 })));
 */
export function turbulence(w: tf.Tensor, grids: readonly CandidateGrid[], threshold = DEFAULT_THRESHOLD): number {
  if (grids.length === 0) fail('turbulence needs at least one candidate grid, got none');
  const fractions = boundaryFractions(w, grids, threshold);
  let sum = 0;
  for (let i = 0; i < grids.length; i++) sum += fractions[i]! / grids[i]!.bits;
  return sum / grids.length;
}
