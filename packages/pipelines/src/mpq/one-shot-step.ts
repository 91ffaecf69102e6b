import * as tf from '@tensorflow/tfjs-core';
import { allReduceGrads, clipGradsByValue, type GradMap, type Optimizer, paramGrads, ReplicaGroup, type Rng, type StepContext, withBatchNormSync } from '@lowbit/core';
import { activeCandidates, type SchedulerState, sampleBits } from '@lowbit/bitwidth-scheduler';
import { crossEntropy, distillationLoss, idmLoss } from '@lowbit/info-distortion-loss';
import { type BitPolicy, type ForwardOptions, forward } from '@lowbit/nn';
import { FLOAT_BITS, type OneShotNet } from './one-shot-net.js';

export interface OneShotStepOptions {
  /** Random-bit forwards per step (default 3). */
  k: number;
  /** IDM weight (0 disables IDM). */
  idmWeight: number;
  rng: Rng;
  /** Weight candidates currently active per layer (the bit-width scheduler's state). */
  scheduler: SchedulerState;
  /** Frozen layers also lose their input site's lowest activation candidate (default false). */
  freezeActivations?: boolean;
  /** Clip every gradient element to ±clipValue before the update (default: no clipping). */
  clipValue?: number;
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
 * Each activation site's active candidates. With `freezeActivations`, a site read by a layer whose
 * lowest weight candidate the scheduler froze loses its lowest activation candidate too (the
 * reference's ResNet setting freezes both bits of a turbulent layer); otherwise all candidates.
 */
export function activeSiteCandidates(o: OneShotNet, scheduler: SchedulerState, freezeActivations = false): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const s of o.sites.values()) {
    const frozen = freezeActivations && s.candidates.length > 1 && s.consumers.some((c) => (scheduler.frozen[c]?.length ?? 0) > 0);
    out.set(s.name, frozen ? s.candidates.slice(1) : s.candidates);
  }
  return out;
}

/**
 * Draws a random policy: each layer's weight bits uniformly from its active candidates (the
 * scheduler's state), each activation site's bits uniformly from its active candidates
 * ({@link activeSiteCandidates}).
 */
export function samplePolicy(o: OneShotNet, scheduler: SchedulerState, rng: Rng, freezeActivations = false): BitPolicy {
  const w = sampleBits(scheduler, rng, [...o.layers.keys()]);
  const active = activeSiteCandidates(o, scheduler, freezeActivations);
  const a: Record<string, number> = {};
  for (const s of o.sites.values()) {
    const c = active.get(s.name)!;
    a[s.name] = c[rng.int(c.length)]!;
  }
  const p: BitPolicy = {};
  for (const l of o.layers.values()) p[l.name] = { w: w[l.name]!, a: a[l.site] ?? FLOAT_BITS };
  return p;
}

/** Smallest quantizer step kept after an update (LSQ steps must stay positive). */
export const MIN_STEP = 1e-6;

/**
 * Projects every quantizer step (`q/…` parameters) onto `s ≥ MIN_STEP` after an optimiser update.
 * An SGD step can overshoot a small LSQ step across zero, which would flip the grid; a step at the
 * floor clips every weight, and the LSQ gradient then pushes it back up.
 */
export function projectSteps(params: Record<string, tf.Variable>): void {
  tf.tidy(() => {
    for (const [k, v] of Object.entries(params)) if (k.startsWith('q/')) v.assign(tf.maximum(v, MIN_STEP));
  });
}

/** What one step does besides the data: the random policies and each layer's lowest active candidate. */
export interface OneShotPlan {
  policies: BitPolicy[];
  /** Layers with several candidates → their lowest active weight bits (IDM applies to layers sampled there). */
  lowest: Array<[string, number]>;
  idmWeight: number;
}

/** Draws a step's plan from the scheduler state (advancing `rng` by the K policies). */
export function planStep(o: OneShotNet, s: OneShotStepOptions): OneShotPlan {
  const policies = Array.from({ length: s.k }, () => samplePolicy(o, s.scheduler, s.rng, s.freezeActivations ?? false));
  const lowest: Array<[string, number]> = [];
  for (const l of o.layers.values()) if (l.candidates.length > 1) lowest.push([l.name, activeCandidates(s.scheduler, l.name)[0]!]);
  return { policies, lowest, idmWeight: s.idmWeight };
}

/**
 * Forward options that tap IDM features: each layer's BN output as the BN produced it, before any
 * activation quantizer. (Where a BN output feeds a quantized layer directly — MobileNetV2's
 * projections — the value consumers see is already quantized; aligning that would train the
 * site's step on the IDM loss, which the reference, hooking the BN module, does not.)
 */
export function featureTaps(nodes: readonly string[]): Pick<ForwardOptions, 'tapNodes' | 'tapBeforeActivationHook'> {
  return { tapNodes: nodes.length > 0 ? nodes : false, tapBeforeActivationHook: true };
}

/**
 * One rank's part of a weight-coupled training step on its share `x` of the batch (`weight` =
 * the share's fraction of the batch; 1 alone): a max-bits forward (cross-entropy) plus the plan's
 * random-bit forwards (0.5·CE + 0.5·KL to the max-bits logits, detached), IDM on the layers
 * sampled at their lowest active candidate (their BN outputs against the max-bits pass's,
 * detached; see {@link featureTaps}); batch norm synchronised over `group`. Returns the gradients of the summed loss and
 * the loss terms, summed over the ranks (the caller disposes the gradients). BN running
 * statistics of every selected switchable set are updated. Leaves the network at the max-bits policy.
 */
export function oneShotShardGrads(o: OneShotNet, group: ReplicaGroup, x: tf.Tensor, labels: tf.Tensor, weight: number, plan: OneShotPlan, ctx: StepContext): { grads: GradMap } & OneShotStepResult {
  const params = o.trainable();
  const maxPolicy = o.maxPolicy();
  const features = [...o.layers.values()].filter((l) => l.candidates.length > 1).map((l) => o.featureNode(l.name));
  // Each pass gets its own gradient tape, summed: the random-bit passes see the max-bits logits and
  // features only as constants (detached), so the total gradient is the sum of the per-pass ones,
  // and peak memory is one pass's tape instead of K + 1 (mbv2-fm at batch 64 needs this).
  return tf.tidy(() => {
    const opts = o.forwardOptions(ctx);
    const kept: tf.Tensor[] = [];
    const keep = <T extends tf.Tensor>(t: T): T => {
      kept.push(tf.keep(t));
      return t;
    };
    let teacherLogits: tf.Tensor | null = null;
    const teacherFeatures = new Map<string, tf.Tensor>();
    let correctT: tf.Tensor | null = null;
    o.applyPolicy(maxPolicy);
    const t = withBatchNormSync(group, () =>
      paramGrads(() => {
        const r = forward(o.net, x, { ...opts, training: true, updateBnStats: true, ...featureTaps(plan.idmWeight > 0 ? features : []) });
        teacherLogits = keep(r.output);
        for (const [k, v] of r.nodes) teacherFeatures.set(k, keep(v));
        correctT = keep(tf.sum(tf.cast(tf.equal(tf.argMax(r.output, 1), tf.cast(labels, 'int32')), 'int32')));
        return tf.mul(crossEntropy(r.output, labels), weight) as tf.Scalar;
      }, params),
    );
    const grads = t.grads;
    const ceMax = t.value.dataSync()[0]!;
    let loss = ceMax;
    let distill = 0;
    let idm = 0;
    for (const p of plan.policies) {
      o.applyPolicy(p);
      const low = plan.lowest.filter(([layer, b]) => p[layer]!.w === b).map(([layer]) => o.featureNode(layer));
      const useIdm = plan.idmWeight > 0 && low.length > 0;
      let dT: tf.Tensor | null = null;
      let iT: tf.Tensor | null = null;
      const g = withBatchNormSync(group, () =>
        paramGrads(() => {
          const student = forward(o.net, x, { ...opts, training: true, updateBnStats: true, ...featureTaps(useIdm ? low : []) });
          const d = tf.mul(distillationLoss(student.output, teacherLogits!, labels), weight) as tf.Scalar;
          dT = keep(d);
          if (!useIdm) return d;
          const i = tf.mul(idmLoss(student.nodes, teacherFeatures, low, { weight: plan.idmWeight }), weight) as tf.Scalar;
          iT = keep(i);
          return tf.add(d, i) as tf.Scalar;
        }, params),
      );
      for (const [k, v] of Object.entries(g.grads)) grads[k] = grads[k] ? tf.add(grads[k]!, v) : v;
      loss += g.value.dataSync()[0]!;
      distill += (dT as unknown as tf.Tensor).dataSync()[0]!;
      if (iT) idm += (iT as tf.Tensor).dataSync()[0]!;
    }
    o.applyPolicy(maxPolicy);
    const correct = (correctT as unknown as tf.Tensor).dataSync()[0]!;
    for (const k of kept) k.dispose();
    const r = allReduceGrads(group, grads, [loss, ceMax, distill, idm, correct]);
    const [sLoss, sCe, sDistill, sIdm, sCorrect] = r.extras as [number, number, number, number, number];
    return { grads: r.grads, loss: sLoss, ceMax: sCe, correct: sCorrect, distill: sDistill / Math.max(1, plan.policies.length), idm: sIdm };
  });
}

/**
 * The optimiser update of a step: clip the gradients by value (when `clipValue` is given), step
 * the trainable variables, keep quantizer steps positive. Disposes the gradients.
 */
export function applyStep(o: OneShotNet, optimizer: Optimizer, grads: GradMap, clipValue?: number): void {
  const params = o.trainable();
  const g = clipValue !== undefined ? clipGradsByValue(grads, clipValue) : grads;
  optimizer.step(params, g);
  projectSteps(params);
  tf.dispose(Object.values(g));
}

/**
 * One step of weight-coupled training on the whole batch in this thread (see
 * {@link oneShotShardGrads}), then one optimiser step.
 */
export function oneShotStep(o: OneShotNet, optimizer: Optimizer, x: tf.Tensor, labels: tf.Tensor, s: OneShotStepOptions): OneShotStepResult {
  const plan = planStep(o, s);
  const { grads, ...result } = oneShotShardGrads(o, SOLO, x, labels, 1, plan, s.ctx);
  applyStep(o, optimizer, grads, s.clipValue);
  return result;
}

const SOLO = ReplicaGroup.solo();
