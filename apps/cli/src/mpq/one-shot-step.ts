import * as tf from '@tensorflow/tfjs-core';
import { type Optimizer, paramGrads, type Rng, type StepContext } from '@lowbit/core';
import { activeCandidates, type SchedulerState, sampleBits } from '@lowbit/bitwidth-scheduler';
import { crossEntropy, distillationLoss, idmLoss } from '@lowbit/info-distortion-loss';
import { type BitPolicy, forward } from '@lowbit/nn';
import { FLOAT_BITS, type OneShotNet } from './one-shot-net.js';

export interface OneShotStepOptions {
  /** Random-bit forwards per step (default 3). */
  k: number;
  /** IDM weight (0 disables IDM). */
  idmWeight: number;
  rng: Rng;
  /** Weight candidates currently active per layer (the bit-width scheduler's state). */
  scheduler: SchedulerState;
  ctx: StepContext;
}

export interface OneShotStepResult {
  /** Total loss optimised. */
  loss: number;
  /** Cross-entropy of the max-bits pass. */
  ceMax: number;
  /** Mean distillation loss (0.5·CE + 0.5·KL) of the random-bit passes. */
  distill: number;
  /** Sum of the IDM terms. */
  idm: number;
  /** Correct predictions of the max-bits pass. */
  correct: number;
}

/**
 * Draws a random policy: each layer's weight bits uniformly from its active candidates (the
 * scheduler's state), each activation site's bits uniformly from its candidates.
 */
export function samplePolicy(o: OneShotNet, scheduler: SchedulerState, rng: Rng): BitPolicy {
  const w = sampleBits(scheduler, rng, [...o.layers.keys()]);
  const a: Record<string, number> = {};
  for (const s of o.sites.values()) a[s.name] = s.candidates[rng.int(s.candidates.length)]!;
  const p: BitPolicy = {};
  for (const l of o.layers.values()) p[l.name] = { w: w[l.name]!, a: a[l.site] ?? FLOAT_BITS };
  return p;
}

/**
 * One step of weight-coupled training: a max-bits forward (cross-entropy) plus `k` random-bit
 * forwards (0.5·CE + 0.5·KL to the max-bits logits, detached), IDM on the layers sampled at their
 * lowest active candidate (their BN outputs against the max-bits pass's, detached); the gradients
 * of the sum, one optimiser step. BN running statistics of every selected switchable set are
 * updated. Leaves the network at the max-bits policy.
 */
export function oneShotStep(o: OneShotNet, optimizer: Optimizer, x: tf.Tensor, labels: tf.Tensor, s: OneShotStepOptions): OneShotStepResult {
  const params = o.trainable();
  const maxPolicy = o.maxPolicy();
  const features = [...o.layers.values()].filter((l) => l.candidates.length > 1).map((l) => o.featureNode(l.name));
  const policies = Array.from({ length: s.k }, () => samplePolicy(o, s.scheduler, s.rng));
  const lowest = new Map<string, number>();
  for (const l of o.layers.values()) if (l.candidates.length > 1) lowest.set(l.name, activeCandidates(s.scheduler, l.name)[0]!);
  return tf.tidy(() => {
    const kept: tf.Tensor[] = [];
    const keep = <T extends tf.Tensor>(t: T): T => {
      kept.push(tf.keep(t));
      return t;
    };
    const { value, grads } = paramGrads(() => {
      o.applyPolicy(maxPolicy);
      const opts = o.forwardOptions(s.ctx);
      const teacher = forward(o.net, x, { ...opts, training: true, updateBnStats: true, tapNodes: s.idmWeight > 0 ? features : false });
      const ce = keep(crossEntropy(teacher.output, labels));
      keep(tf.sum(tf.cast(tf.equal(tf.argMax(teacher.output, 1), tf.cast(labels, 'int32')), 'int32')));
      let loss: tf.Scalar = ce;
      let distillSum: tf.Scalar = tf.scalar(0);
      let idmSum: tf.Scalar = tf.scalar(0);
      for (const p of policies) {
        o.applyPolicy(p);
        const low = [...lowest].filter(([layer, b]) => p[layer]!.w === b).map(([layer]) => o.featureNode(layer));
        const student = forward(o.net, x, { ...opts, training: true, updateBnStats: true, tapNodes: low.length > 0 && s.idmWeight > 0 ? low : false });
        const d = distillationLoss(student.output, teacher.output, labels);
        distillSum = tf.add(distillSum, d) as tf.Scalar;
        loss = tf.add(loss, d) as tf.Scalar;
        if (s.idmWeight > 0 && low.length > 0) {
          const idm = idmLoss(student.nodes, teacher.nodes, low, { weight: s.idmWeight });
          idmSum = tf.add(idmSum, idm) as tf.Scalar;
          loss = tf.add(loss, idm) as tf.Scalar;
        }
      }
      keep(tf.div(distillSum, Math.max(1, policies.length)));
      keep(idmSum);
      o.applyPolicy(maxPolicy);
      return loss;
    }, params);
    optimizer.step(params, grads);
    const [ce, correct, distill, idm] = kept.map((t) => t.dataSync()[0]!);
    const loss = value.dataSync()[0]!;
    for (const t of kept) t.dispose();
    return { loss, ceMax: ce!, correct: correct!, distill: distill!, idm: idm! };
  });
}
