import * as tf from '@tensorflow/tfjs-core';

/**
 * Reconstruction error: the squared L2 distance per example (summed over all features), averaged
 * over the batch — the convention of BRECQ, QDrop and NWQ, against which AdaRound's regulariser
 * weight λ = 0.01 is calibrated (a per-element mean would make the regulariser dominate).
 */
export function mse(a: tf.Tensor, b: tf.Tensor): tf.Scalar {
  const d = tf.squaredDifference(a, b);
  if (d.rank <= 1) return tf.sum(d) as tf.Scalar;
  const axes = Array.from({ length: d.rank - 1 }, (_, i) => i + 1);
  return tf.mean(tf.sum(d, axes)) as tf.Scalar;
}

/**
 * Activation Regularization: `Σ_p λ_p · E_batch ‖â_p − a_p‖²` over the regularised points (block
 * or layer outputs) of the quantized (â) and float (a) networks on the same batch.
 */
export function arLoss(quant: Map<string, tf.Tensor>, float: Map<string, tf.Tensor>, weights: Record<string, number> = {}): tf.Scalar {
  const terms: tf.Scalar[] = [];
  for (const [name, q] of quant) {
    const f = float.get(name);
    if (!f) throw new Error(`AR loss: no float target for '${name}'`);
    const w = weights[name] ?? 1;
    if (w !== 0) terms.push(tf.mul(mse(q, f), w) as tf.Scalar);
  }
  return terms.length === 0 ? tf.scalar(0) : (tf.addN(terms) as tf.Scalar);
}

/** KL(softmax(float) ‖ softmax(quant)) averaged over the batch. */
export function klLogits(quantLogits: tf.Tensor, floatLogits: tf.Tensor): tf.Scalar {
  const p = tf.softmax(floatLogits);
  return tf.mean(tf.sum(tf.mul(p, tf.sub(tf.logSoftmax(floatLogits), tf.logSoftmax(quantLogits))), -1)) as tf.Scalar;
}
