import * as tf from '@tensorflow/tfjs-core';

/**
 * How a squared error is reduced to a scalar. `features`: summed over all features of an example
 * (the squared L2 distance between two activations), averaged over the examples. `channels`:
 * summed over channels (the last axis) and averaged over examples and spatial positions — BRECQ's
 * and QDrop's `lp_loss`, the scale AdaRound's regulariser weight λ = 0.01 is calibrated against
 * (with `features` the regulariser is H·W times too weak to harden the rounding, and 2-bit runs
 * collapse when the hard rounding is taken).
 */
export type Reduction = 'features' | 'channels';

/** Squared error between two activations, reduced as `reduction` says (default `features`). */
export function mse(a: tf.Tensor, b: tf.Tensor, reduction: Reduction = 'features'): tf.Scalar {
  const d = tf.squaredDifference(a, b);
  if (d.rank <= 1) return tf.sum(d) as tf.Scalar;
  if (reduction === 'channels') return tf.mean(tf.sum(d, -1)) as tf.Scalar;
  const axes = Array.from({ length: d.rank - 1 }, (_, i) => i + 1);
  return tf.mean(tf.sum(d, axes)) as tf.Scalar;
}

/**
 * How the AR terms of the regularised points are weighted: `sum` (default) adds their squared
 * errors as they are, so points with many or large features (early, high-resolution blocks)
 * dominate; `relative` divides each by its float target's squared norm on the batch (same
 * reduction), so every point counts by its relative error.
 */
export type ArWeighting = 'sum' | 'relative';

/**
 * Activation Regularization: `Σ_p λ_p · mse(â_p, a_p)` over the regularised points (block or
 * layer outputs) of the quantized (â) and float (a) networks on the same batch; by default each
 * term is the squared distance between the two activations, averaged over the batch. With
 * `weighting: 'relative'` each term is divided by the same reduction of `a_p²`.
 */
export function arLoss(quant: Map<string, tf.Tensor>, float: Map<string, tf.Tensor>, weights: Record<string, number> = {}, reduction: Reduction = 'features', weighting: ArWeighting = 'sum'): tf.Scalar {
  const terms: tf.Scalar[] = [];
  for (const [name, q] of quant) {
    const f = float.get(name);
    if (!f) throw new Error(`AR loss: no float target for '${name}'`);
    const w = weights[name] ?? 1;
    if (w === 0) continue;
    const term = mse(q, f, reduction);
    // the target carries no gradient: its norm is a constant of the batch
    terms.push(tf.mul(weighting === 'relative' ? tf.div(term, tf.add(mse(tf.zerosLike(f), f, reduction), 1e-12)) : term, w) as tf.Scalar);
  }
  return terms.length === 0 ? tf.scalar(0) : (tf.addN(terms) as tf.Scalar);
}

/** KL(softmax(float) ‖ softmax(quant)) averaged over the batch. */
export function klLogits(quantLogits: tf.Tensor, floatLogits: tf.Tensor): tf.Scalar {
  const p = tf.softmax(floatLogits);
  return tf.mean(tf.sum(tf.mul(p, tf.sub(tf.logSoftmax(floatLogits), tf.logSoftmax(quantLogits))), -1)) as tf.Scalar;
}
