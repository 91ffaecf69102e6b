import * as tf from '@tensorflow/tfjs-core';
import { broadcastParams, LowbitError, type Optimizer, type ParamMap, type ReplicaGroup, Rng, type StepContext } from '@lowbit/core';
import { type Replicas, startReplicas } from '@lowbit/core/node';
import { createNetwork, disposeNetwork, type NetworkSpec, paramMap } from '@lowbit/nn';
import { shardRange } from '../train/data-parallel.js';
import { type CandidateConfig, createOneShotNet, type OneShotNet } from './one-shot-net.js';
import { applyStep, type OneShotPlan, oneShotShardGrads, type OneShotStepOptions, type OneShotStepResult, planStep } from './one-shot-step.js';

/** What rank 0 posts to a one-shot replica for one step: its share of the batch and the step's plan. */
export interface OneShotShardMessage {
  x: Float32Array;
  xShape: number[];
  labels: Int32Array;
  weight: number;
  plan: OneShotPlan;
  step: number;
  total: number;
}

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
  const n = x.shape[0]!;
  const size = replicas.size;
  if (n < size) throw new LowbitError('E_ARG', `a batch of ${n} cannot be split over ${size} threads`);
  const plan = planStep(o, s);
  const per = x.size / n;
  const xs = x.dataSync() as Float32Array;
  const ys = Int32Array.from(labels.dataSync());
  for (let r = 1; r < size; r++) {
    const [a, b] = shardRange(n, r, size);
    const msg: OneShotShardMessage = { x: xs.slice(a * per, b * per), xShape: [b - a, ...x.shape.slice(1)], labels: ys.slice(a, b), weight: (b - a) / n, plan, step: s.ctx.step, total: s.ctx.total };
    replicas.post(r, msg, [msg.x.buffer as ArrayBuffer, msg.labels.buffer as ArrayBuffer]);
  }
  const [a, b] = shardRange(n, 0, size);
  const x0 = tf.slice(x, 0, b - a);
  const y0 = tf.slice(labels, 0, b - a);
  try {
    const { grads, ...result } = oneShotShard(o, replicas.group, x0, y0, (b - a) / n, plan, s.ctx);
    applyStep(o, optimizer, grads);
    return result;
  } finally {
    tf.dispose([x0, y0]);
  }
}

/**
 * Starts `threads − 1` one-shot replicas of `o` (worker threads running `replica.js` next to this
 * module, built). `module`/`execArgv` override the worker module and Node options (tests).
 */
export async function startOneShotReplicas(o: OneShotNet, threads: number, opts: { module?: URL; execArgv?: string[] } = {}): Promise<OneShotReplicas> {
  if (!Number.isInteger(threads) || threads < 2) throw new LowbitError('E_ARG', `data-parallel training needs at least 2 threads, got ${threads}`);
  const net = o.net;
  const quantState: OneShotReplicaInit['quantState'] = {};
  for (const [k, v] of Object.entries(o.quantState())) quantState[k] = { values: v.dataSync().slice() as Float32Array, shape: v.shape };
  const values = Object.values(stateOf(o)).reduce((s, v) => s + v.size, 0);
  const grads = Object.values(o.trainable()).reduce((s, v) => s + v.size, 0);
  return startReplicas<OneShotReplicaInit, OneShotShardMessage>({
    module: opts.module ?? new URL('./replica.js', import.meta.url),
    size: threads,
    capacity: Math.max(values, grads) + 8,
    init: { spec: { name: net.name, inputShape: net.inputShape, nodes: net.nodes, blocks: net.blocks }, candidates: o.config, quantState },
    ...(opts.execArgv ? { execArgv: opts.execArgv } : {}),
  });
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
