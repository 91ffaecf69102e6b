import * as tf from '@tensorflow/tfjs-core';
import { evalContext, LowbitError, Rng } from '@lowbit/core';
import { type LabeledSet, makeBatch } from '@lowbit/data';
import { type BitPolicy, forward, reestimateBatchNorm } from '@lowbit/nn';
import { evaluate, type EvalResult } from '../eval/evaluate.js';
import type { OneShotNet } from './one-shot-net.js';

/** Fixed input batches of a labelled set (caller disposes with {@link disposeBatches}). */
export function fixedBatches(set: LabeledSet, from: number, count: number, batchSize = 128): tf.Tensor[] {
  if (from + count > set.size) throw new LowbitError('E_CALIB', `need images ${from}..${from + count - 1} of the calibration set, which has ${set.size}`);
  const out: tf.Tensor[] = [];
  for (let i = 0; i < count; i += batchSize) {
    const idx = Int32Array.from({ length: Math.min(batchSize, count - i) }, (_, j) => from + i + j);
    const b = makeBatch(set, idx);
    b.y.dispose();
    out.push(b.x);
  }
  return out;
}

export function disposeBatches(bs: tf.Tensor[]): void {
  for (const b of bs) b.dispose();
}

/**
 * Applies a policy and re-estimates the batch-norm statistics it selects on `bnBatches`
 * (training-mode forwards through the quantized network): what every score and every final
 * evaluation starts from.
 */
export function preparePolicy(o: OneShotNet, policy: BitPolicy, bnBatches: readonly tf.Tensor[]): void {
  o.applyPolicy(policy);
  reestimateBatchNorm(o.net, bnBatches, o.forwardOptions(evalContext(new Rng(0))));
}

/**
 * The search's error: mean KL divergence of a policy's predictions from the max-bits policy's on
 * held-out calibration images (label-free), after BN re-estimation. `teacher` are the max-bits
 * log-probabilities, one tensor per score batch.
 */
export function policyError(o: OneShotNet, policy: BitPolicy, bnBatches: readonly tf.Tensor[], scoreBatches: readonly tf.Tensor[], teacher: readonly tf.Tensor[]): number {
  preparePolicy(o, policy, bnBatches);
  const opts = o.forwardOptions(evalContext(new Rng(0)));
  let sum = 0;
  let n = 0;
  scoreBatches.forEach((x, i) => {
    sum += tf.tidy(() => {
      const logq = tf.logSoftmax(forward(o.net, x, opts).output);
      const logp = teacher[i]!;
      return tf.sum(tf.mul(tf.exp(logp), tf.sub(logp, logq))).dataSync()[0]!;
    });
    n += x.shape[0]!;
  });
  return sum / n;
}

/** Max-bits log-probabilities on the score batches (kept; dispose with {@link disposeBatches}). */
export function teacherLogProbs(o: OneShotNet, bnBatches: readonly tf.Tensor[], scoreBatches: readonly tf.Tensor[]): tf.Tensor[] {
  preparePolicy(o, o.maxPolicy(), bnBatches);
  const opts = o.forwardOptions(evalContext(new Rng(0)));
  return scoreBatches.map((x) => tf.tidy(() => tf.logSoftmax(forward(o.net, x, opts).output)));
}

/** Test accuracy of a policy on the one-shot weights, BN re-estimated on the calibration batches first. */
export function evaluatePolicy(o: OneShotNet, policy: BitPolicy, bnBatches: readonly tf.Tensor[], test: LabeledSet, limit?: number): EvalResult {
  preparePolicy(o, policy, bnBatches);
  return evaluate(o.net, test, { forwardOptions: o.forwardOptions(evalContext(new Rng(0))), ...(limit ? { limit } : {}) });
}
