import * as tf from '@tensorflow/tfjs-core';
import { broadcastParams, type Optimizer, type ParamMap, type ReplicaGroup, Rng, type StepContext } from '@lowbit/core';
import type { Replicas } from '@lowbit/core/node';
import { cloneSpec, createNetwork, disposeNetwork, type NetworkSpec, paramMap } from '@lowbit/nn';
import { type ReplicaStartOptions, startLoopReplicas } from '../util/replicas.js';
import { postShards, type ShardMessage } from '../train/data-parallel.js';
import { type CandidateConfig, createOneShotNet, type OneShotNet } from './one-shot-net.js';
import { applyStep, type OneShotPlan, oneShotShardGrads, type OneShotStepOptions, type OneShotStepResult, planStep } from './one-shot-step.js';

/** What rank 0 posts to a one-shot replica for one step: its share of the batch and the step's plan. */
export type OneShotShardMessage = ShardMessage & { plan: OneShotPlan; step: number; total: number };

/** A one-shot replica's start-up data: the network and candidates, and the quantization state to shape its variables. */
export interface OneShotReplicaInit {
  spec: NetworkSpec;
  candidates: CandidateConfig;
  quantState: Record<string, { values: Float32Array; shape: number[] }>;
}

export type OneShotReplicas = Replicas<OneShotShardMessage>;

/** Every variable a step reads: the network's (all) and the quantization state (steps, switchable BN sets with statistics). */
function stateOf(o: OneShotNet): ParamMap {
  const out: ParamMap = {};
  for (const [k, v] of Object.entries(paramMap(o.net, 'all'))) out[`net/${k}`] = v;
  for (const [k, v] of Object.entries(o.quantState())) out[`q/${k}`] = v;
  return out;
}

/** One rank's share of a data-parallel one-shot step: rank 0's state to every rank, then {@link oneShotShardGrads}. */
export function oneShotShard(o: OneShotNet, group: ReplicaGroup, x: tf.Tensor, labels: tf.Tensor, weight: number, plan: OneShotPlan, ctx: StepContext) {
  broadcastParams(group, stateOf(o));
  return oneShotShardGrads(o, group, x, labels, weight, plan, ctx);
}

/**
 * `oneShotStep` over a group of replicas (this thread is rank 0 and owns the network, the
 * scheduler, the random stream and the optimiser): the plan is drawn here and sent with each
 * share; the summed gradients come back here for the update. Same result as the one-thread step
 * up to float summation order (tested).
 */
export function oneShotStepParallel(o: OneShotNet, optimizer: Optimizer, x: tf.Tensor, labels: tf.Tensor, s: OneShotStepOptions, replicas: OneShotReplicas): OneShotStepResult {
  const plan = planStep(o, s);
  const own = postShards(replicas, x, labels, { plan, step: s.ctx.step, total: s.ctx.total });
  try {
    const { grads, ...result } = oneShotShard(o, replicas.group, own.x, own.labels, own.weight, plan, s.ctx);
    applyStep(o, optimizer, grads, s.clipValue);
    return result;
  } finally {
    tf.dispose([own.x, own.labels]);
  }
}

/**
 * Starts `threads − 1` one-shot replicas of `o` (worker threads running `replica.js` next to this
 * module, built); this thread is rank 0.
 */
export function startOneShotReplicas(o: OneShotNet, threads: number, opts: ReplicaStartOptions = {}): Promise<OneShotReplicas> {
  const quantState: OneShotReplicaInit['quantState'] = {};
  for (const [k, v] of Object.entries(o.quantState())) quantState[k] = { values: v.dataSync().slice() as Float32Array, shape: v.shape };
  const values = Object.values(stateOf(o)).reduce((s, v) => s + v.size, 0);
  const grads = Object.values(o.trainable()).reduce((s, v) => s + v.size, 0);
  const init: OneShotReplicaInit = { spec: cloneSpec(o.net), candidates: o.config, quantState };
  return startLoopReplicas<OneShotReplicaInit, OneShotShardMessage>(new URL('./replica.js', import.meta.url), threads, Math.max(values, grads) + 8, init, opts);
}

/** A replica's own one-shot network, shaped like rank 0's (values come from rank 0 at every step). */
export function replicaOneShotNet(init: OneShotReplicaInit): OneShotNet {
  const float = createNetwork(init.spec, { seed: 0 });
  const o = createOneShotNet(float, init.candidates);
  const t = Object.fromEntries(Object.entries(init.quantState).map(([k, v]) => [k, tf.tensor(v.values, v.shape)]));
  o.loadQuantState(t);
  tf.dispose(Object.values(t));
  disposeNetwork(float);
  return o;
}

/** The step context a replica uses (its random stream is unused by the one-shot quantizers; seeded for determinism). */
export function replicaContext(m: OneShotShardMessage): StepContext {
  return { step: m.step, total: m.total, training: true, rng: new Rng(m.step) };
}
