import * as tf from '@tensorflow/tfjs-core';
import { type ActivationMixer, bernoulliMix as mixKernel, constant, cosine, LowbitError, linear, type Schedule, type StepContext } from '@lowbit/core';

/** A mixer that also says which float share it uses at a step (for progress reports). */
export type ReportingMixer = ActivationMixer & { readonly probability: Schedule; readonly label: string };

function withReport(fn: ActivationMixer, probability: Schedule, label: string): ReportingMixer {
  return Object.assign(fn, { probability, label });
}

function checkP(p: number, what: string): void {
  if (!(p >= 0 && p <= 1)) throw new LowbitError('E_ARG', `${what} must be a probability in [0, 1], got ${p}`);
}

/** Mixes per element: `x_out = M ⊙ x + (1 − M) ⊙ Q(x)`, `M ~ Bernoulli(p)`, written as `Q(x) + M ⊙ (x − Q(x))`. */
function bernoulliMix(xFloat: tf.Tensor, xQuant: tf.Tensor, p: number, ctx: StepContext): tf.Tensor {
  if (p <= 0) return xQuant;
  if (p >= 1) return xFloat;
  return mixKernel(xFloat, xQuant, p, ctx.rng, ctx.shard);
}

export interface AMixupOptions {
  /** Float share at the start (default 0.5). */
  pStart?: number;
  /** Float share at the end (default 0: the network ends fully quantized, as deployed). */
  pEnd?: number;
  /** Annealing curve (default linear), or any schedule of your own. */
  schedule?: 'linear' | 'cosine' | Schedule;
  /**
   * `bernoulli` (default): per-element mask, each element float with probability p_t.
   * `convex`: `λ·x + (1 − λ)·Q(x)` with λ = p_t everywhere (a documented alternative).
   */
  mode?: 'bernoulli' | 'convex';
}

/**
 * Annealing Mixup (NWQ): during reconstruction each activation is a random mix of its float and
 * quantized versions, with the float share annealed from `pStart` to `pEnd`, so that the network
 * is optimised fully quantized by the end (QDrop's constant drop leaves a train/test mismatch).
 * Evaluation (`ctx.training` false) always returns the quantized activation.
 */
export function amixup(o: AMixupOptions = {}): ReportingMixer {
  const ps = o.pStart ?? 0.5;
  const pe = o.pEnd ?? 0;
  checkP(ps, 'AMixup pStart');
  checkP(pe, 'AMixup pEnd');
  const sched: Schedule = typeof o.schedule === 'function' ? o.schedule : o.schedule === 'cosine' ? cosine(ps, pe) : linear(ps, pe);
  const mode = o.mode ?? 'bernoulli';
  const fn: ActivationMixer = (xf, xq, ctx) => {
    if (!ctx.training) return xq;
    const p = sched(ctx.step, ctx.total);
    if (mode === 'convex') return p <= 0 ? xq : tf.add(tf.mul(xf, p), tf.mul(xq, 1 - p));
    return bernoulliMix(xf, xq, p, ctx);
  };
  return withReport(fn, sched, `amixup(${ps}→${pe}, ${mode})`);
}

/**
 * QDrop's activation drop: each element keeps its float value with a constant probability
 * (default 0.5) throughout reconstruction; the baseline AMixup is measured against.
 */
export function qdrop(o: { p?: number } = {}): ReportingMixer {
  const p = o.p ?? 0.5;
  checkP(p, 'QDrop p');
  return withReport((xf, xq, ctx) => (ctx.training ? bernoulliMix(xf, xq, p, ctx) : xq), constant(p), `qdrop(${p})`);
}

/** No mixing: always the quantized activation (BRECQ, AdaRound, RTN). */
export function noMixing(): ReportingMixer {
  return withReport((_xf, xq) => xq, constant(0), 'none');
}
