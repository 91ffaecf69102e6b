import * as tf from '@tensorflow/tfjs-core';
import { evalContext, LowbitError, Rng } from '@lowbit/core';
import { type LabeledSet, makeBatch } from '@lowbit/data';
import { type BitPolicy, forward, reestimateBatchNorm } from '@lowbit/nn';
import { evaluateNetwork, type EvalResult } from '../eval/evaluate.js';
import type { OneShotNet } from './one-shot-net.js';

/** Fixed input batches of a labelled set (caller disposes with {@link disposeBatches}). */
export function fixedBatches(set: LabeledSet, from: number, count: number, batchSize = 128): tf.Tensor[] {
  if (from + count > set.size) throw new LowbitError('E_CALIB', `need images ${from}..${from + count - 1} of the calibration set, which has ${set.size}`);
  return batchesOf(set, Int32Array.from({ length: count }, (_, i) => from + i), batchSize);
}

/** Input batches of images `indices` of a labelled set, in order (caller disposes with {@link disposeBatches}). */
export function batchesOf(set: LabeledSet, indices: Int32Array, batchSize = 128): tf.Tensor[] {
  const out: tf.Tensor[] = [];
  for (let i = 0; i < indices.length; i += batchSize) {
    const b = makeBatch(set, indices.subarray(i, i + batchSize));
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
 * What the search scores a policy against, per score batch: `kl` — the max-bits policy's
 * predicted probabilities (label-free: KL divergence from them); `ce` — the labels as one-hot
 * probabilities (cross-entropy); `error` — top-1 error with the labels (what the reference
 * implementation scores, on a fresh labelled training batch each step).
 */
export type Criterion = 'kl' | 'ce' | 'error';

export interface ScoreTargets {
  criterion: Criterion;
  /** Target probabilities, one `[n, classes]` tensor per score batch. */
  probs: tf.Tensor[];
  /** Their log (0 where a probability is 0), so that the error is Σ p·(log p − log q). */
  logProbs: tf.Tensor[];
}

/**
 * The search's error: mean Σ p·(log p − log q) over the score images between the targets `p`
 * and a policy's predictions `q`, after BN re-estimation — KL divergence from the max-bits
 * predictions (`kl`) or cross-entropy with the labels (`ce`, where Σ p log p = 0); for `error`,
 * the fraction of score images whose top-1 prediction is not the label.
 */
export function policyError(o: OneShotNet, policy: BitPolicy, bnBatches: readonly tf.Tensor[], scoreBatches: readonly tf.Tensor[], targets: ScoreTargets): number {
  preparePolicy(o, policy, bnBatches);
  const opts = o.forwardOptions(evalContext(new Rng(0)));
  let sum = 0;
  let n = 0;
  scoreBatches.forEach((x, i) => {
    sum += tf.tidy(() => {
      const logits = forward(o.net, x, opts).output;
      if (targets.criterion === 'error') return tf.sum(tf.cast(tf.notEqual(tf.argMax(logits, 1), tf.argMax(targets.probs[i]!, 1)), 'float32')).dataSync()[0]!;
      const logq = tf.logSoftmax(logits);
      return tf.sum(tf.mul(targets.probs[i]!, tf.sub(targets.logProbs[i]!, logq))).dataSync()[0]!;
    });
    n += x.shape[0]!;
  });
  return sum / n;
}

/**
 * The score targets of `criterion` on the score batches (images `from`..`from+count−1` of `set`,
 * in {@link fixedBatches} order); `kl` runs the max-bits policy, BN re-estimated on `bnBatches`.
 * Dispose with {@link disposeTargets}.
 */
export function scoreTargets(o: OneShotNet, criterion: Criterion, set: LabeledSet, from: number, count: number, bnBatches: readonly tf.Tensor[], scoreBatches: readonly tf.Tensor[], batchSize = 128): ScoreTargets {
  return scoreTargetsOf(o, criterion, set, Int32Array.from({ length: count }, (_, i) => from + i), bnBatches, scoreBatches, batchSize);
}

/** {@link scoreTargets} for images `indices` of `set` (in batches of `batchSize`, as {@link batchesOf} makes them). */
export function scoreTargetsOf(o: OneShotNet, criterion: Criterion, set: LabeledSet, indices: Int32Array, bnBatches: readonly tf.Tensor[], scoreBatches: readonly tf.Tensor[], batchSize = 128): ScoreTargets {
  const count = indices.length;
  if (criterion === 'kl') {
    preparePolicy(o, o.maxPolicy(), bnBatches);
    const opts = o.forwardOptions(evalContext(new Rng(0)));
    const logProbs = scoreBatches.map((x) => tf.tidy(() => tf.logSoftmax(forward(o.net, x, opts).output)));
    return { criterion, logProbs, probs: logProbs.map((l) => tf.exp(l)) };
  }
  const probs: tf.Tensor[] = [];
  for (let i = 0; i < count; i += batchSize) {
    const labels = Int32Array.from(indices.subarray(i, Math.min(count, i + batchSize)), (j) => set.labels[j]!);
    probs.push(tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), set.numClasses), 'float32')));
  }
  // log of a one-hot is −∞ off the label; those terms are multiplied by 0, so any finite value does
  return { criterion, probs, logProbs: probs.map((p) => tf.zerosLike(p)) };
}

export function disposeTargets(t: ScoreTargets): void {
  tf.dispose([...t.probs, ...t.logProbs]);
}

/** Test accuracy of a policy on the one-shot weights, BN re-estimated on the calibration batches first. */
export function evaluatePolicy(o: OneShotNet, policy: BitPolicy, bnBatches: readonly tf.Tensor[], test: LabeledSet, limit?: number): EvalResult {
  preparePolicy(o, policy, bnBatches);
  return evaluateNetwork(o.net, test, { forwardOptions: o.forwardOptions(evalContext(new Rng(0))), ...(limit ? { limit } : {}) });
}
