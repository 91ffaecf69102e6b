import * as tf from '@tensorflow/tfjs-core';
import { constant, linear, piecewise, progress, type Schedule, type StepSizeInit, type WeightQuantizer } from '@lowbit/core';
import { clipCodes, disposeBase, hardenBase, makeBase, resolveAxis, type RoundingBase } from './rounding-base.js';

export interface AdaRoundOptions {
  bits: number;
  initStep: StepSizeInit;
  axis?: number | null;
  /** Stretch parameters of the rectified sigmoid (defaults 1.1 and −0.1). */
  zeta?: number;
  gamma?: number;
  /** Weight of the rounding regulariser (default 0.01). */
  lambda?: number;
  /** Fraction of the run without regulariser (default 0.2). */
  warmup?: number;
  /** β of the regulariser over the run (default 20 during warm-up, then linear 20 → 2). */
  beta?: Schedule;
}

export interface AdaRoundState extends RoundingBase {
  v: tf.Variable;
  shape: number[];
}

/**
 * AdaRound's learned rounding (Nagel et al. 2020), the baseline ASoftmax is measured against:
 * `ŵ = s·clip(⌊w/s⌋ + h(V), qmin, qmax)`, `h(V) = clip(σ(V)(ζ−γ) + γ, 0, 1)`, with the
 * regulariser `λ·Σ(1 − |2h(V) − 1|^β)` (β annealed 20 → 2 after a 20% warm-up without it).
 * V starts where h(V) equals the fractional part, so the soft weight equals the float weight.
 * Hard choice: ceil where h(V) ≥ 0.5.
 */
export function adaRound(o: AdaRoundOptions): WeightQuantizer<AdaRoundState> {
  const zeta = o.zeta ?? 1.1;
  const gamma = o.gamma ?? -0.1;
  const lambda = o.lambda ?? 0.01;
  const warm = o.warmup ?? 0.2;
  const beta =
    o.beta ??
    piecewise([
      [warm, constant(20)],
      [1, linear(20, 2)],
    ]);
  const h = (v: tf.Tensor) => tf.clipByValue(tf.add(tf.mul(tf.sigmoid(v), zeta - gamma), gamma), 0, 1);
  return {
    name: 'adaround',
    init(w) {
      const base = makeBase(w, o.bits, resolveAxis(o.axis, w.rank), o.initStep);
      const init = Float32Array.from(base.frac, (f) => {
        const r = Math.min(1 - 1e-6, Math.max(1e-6, (f - gamma) / (zeta - gamma)));
        return Math.log(r / (1 - r));
      });
      return { ...base, v: tf.tidy(() => tf.variable(tf.tensor(init, w.shape, 'float32'), true)), shape: w.shape.slice() };
    },
    apply(_w, s, ctx) {
      const off = ctx.training ? h(s.v) : tf.cast(tf.greaterEqual(s.v, 0), 'float32');
      return tf.mul(clipCodes(s, tf.add(s.base, off)), s.scale);
    },
    regularizer(s, ctx) {
      if (progress(ctx.step, ctx.total) < warm) return null;
      const b = beta(ctx.step, ctx.total);
      return tf.mul(tf.sum(tf.sub(1, tf.pow(tf.abs(tf.sub(tf.mul(h(s.v), 2), 1)), b))), lambda) as tf.Scalar;
    },
    harden(_w, s) {
      const off = tf.tidy(() => tf.cast(tf.greaterEqual(s.v, 0), 'float32'));
      const r = hardenBase(s, off, s.shape);
      off.dispose();
      return r;
    },
    variables: (s) => [s.v],
    dispose(s) {
      disposeBase(s);
      s.v.dispose();
    },
  };
}
