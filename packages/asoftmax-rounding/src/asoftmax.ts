import * as tf from '@tensorflow/tfjs-core';
import { LowbitError, linear, type Schedule, type StepSizeInit, type WeightQuantizer } from '@lowbit/core';
import { clipCodes, disposeBase, hardenBase, makeBase, resolveAxis, type RoundingBase } from './rounding-base.js';

export interface ASoftmaxOptions {
  bits: number;
  /** Step initialiser (per channel along `axis`); the app passes an MSE range estimator. */
  initStep: StepSizeInit;
  /** Channel axis of the steps (default last; null = one step per tensor). */
  axis?: number | null;
  /** Candidate integer offsets `{n..m}` from `⌊w/s⌋` (default [0, 1]: floor or ceil). */
  candidates?: [n: number, m: number];
  /** Temperature over the optimisation (default linear 1 → 0.01). */
  temperature?: Schedule;
  /** Floor of the initial probabilities (default 1e-7: the soft weight at τ = 1 then differs from
   *  the float weight by at most 1e-7 of a step). */
  eps?: number;
}

export interface ASoftmaxState extends RoundingBase {
  /** Rounding logits, shape `[...w.shape, K]`, K = m − n + 1. */
  logits: tf.Variable;
  /** The candidate offsets `[n, …, m]` as a tensor. */
  offsets: tf.Tensor1D;
  n: number;
  k: number;
  shape: number[];
}

/**
 * Initial probabilities over offsets {n..m} whose expectation is `frac` (ε-floored): mass
 * `1 − frac` on 0 and `frac` on 1, ε on every other candidate, with the 0/1 masses adjusted so
 * that the expectation stays `frac`.
 */
function initProbs(frac: number, n: number, m: number, eps: number): number[] {
  const k = m - n + 1;
  const p = new Array<number>(k).fill(eps);
  let otherMean = 0;
  for (let j = 0; j < k; j++) {
    const off = n + j;
    if (off !== 0 && off !== 1) otherMean += eps * off;
  }
  const rest = 1 - eps * (k - 2);
  const p1 = Math.min(rest - eps, Math.max(eps, frac - otherMean));
  p[1 - n] = p1;
  p[0 - n] = rest - p1;
  return p;
}

/**
 * Annealing-Softmax learned rounding (NWQ): each weight picks an integer offset from `{n..m}`
 * through a temperature softmax over learned logits; `ŵ = s·clip(⌊w/s⌋ + Σ_k k·p_k, qmin, qmax)`
 * with `p = softmax(V/τ_t)`, τ annealed (default 1 → 0.01). Logits start at `log σ'`, with σ'
 * a distribution whose expected offset is the fractional part of `w/s`, so at τ = 1 the soft
 * weight equals the float weight. Evaluation and export use the hard `argmax` choice.
 * No rounding regulariser: the temperature drives the choice to a hard one.
 *
 * Memory: the logits hold `(m − n + 1)` floats per weight (2× the weights by default), plus
 * the floor codes (1×).
 */
export function asoftmaxRounding(o: ASoftmaxOptions): WeightQuantizer<ASoftmaxState> {
  const [n, m] = o.candidates ?? [0, 1];
  if (!(Number.isInteger(n) && Number.isInteger(m) && n <= 0 && m >= 1)) {
    throw new LowbitError('E_ARG', `ASoftmax candidates {n..m} must be integers with n ≤ 0 < m (so that floor and ceil are candidates), got {${n}..${m}}`);
  }
  const eps = o.eps ?? 1e-7;
  const temperature = o.temperature ?? linear(1, 0.01);
  return {
    name: 'asoftmax',
    init(w) {
      const base = makeBase(w, o.bits, resolveAxis(o.axis, w.rank), o.initStep);
      const k = m - n + 1;
      const init = new Float32Array(base.frac.length * k);
      for (let i = 0; i < base.frac.length; i++) {
        const p = initProbs(base.frac[i]!, n, m, eps);
        for (let j = 0; j < k; j++) init[i * k + j] = Math.log(p[j]!);
      }
      const logits = tf.tidy(() => tf.variable(tf.tensor(init, [...w.shape, k], 'float32'), true));
      const offsets = tf.tensor1d(Array.from({ length: k }, (_, j) => n + j));
      return { ...base, logits, offsets, n, k, shape: w.shape.slice() };
    },
    apply(_w, s, ctx) {
      if (!ctx.training) return tf.mul(clipCodes(s, tf.add(s.base, hardOffset(s))), s.scale);
      const tau = temperature(ctx.step, ctx.total);
      const p = tf.softmax(tf.div(s.logits, tau));
      const offset = tf.sum(tf.mul(p, s.offsets), -1);
      return tf.mul(clipCodes(s, tf.add(s.base, offset)), s.scale);
    },
    harden(_w, s) {
      const off = hardOffset(s);
      const h = hardenBase(s, off, s.shape);
      off.dispose();
      return h;
    },
    variables: (s) => [s.logits],
    dispose(s) {
      disposeBase(s);
      s.logits.dispose();
      s.offsets.dispose();
    },
  };
}

/** `n + argmax_k V` per weight. */
function hardOffset(s: ASoftmaxState): tf.Tensor {
  return tf.tidy(() => tf.add(tf.cast(tf.argMax(s.logits, -1), 'float32'), s.n));
}

/** Soft offsets' distance from the nearest integer, averaged: 0 when every choice is hard. */
export function softness(s: ASoftmaxState, tau: number): number {
  return tf.tidy(() => {
    const p = tf.softmax(tf.div(s.logits, tau));
    return tf.mean(tf.sub(1, tf.max(p, -1))).dataSync()[0]!;
  });
}
