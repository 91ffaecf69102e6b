import * as tf from '@tensorflow/tfjs-core';
import { type GradMap, initBackend, LowbitError, type Optimizer, ReplicaGroup, shareRange } from '@lowbit/core';
import type { ReplicaServer, ReplicaWorkerData, Replicas } from '@lowbit/core/node';
import { cloneSpec, createNetwork, type Network, type NetworkSpec, paramMap } from '@lowbit/nn';
import { type ReplicaStartOptions, startLoopReplicas } from '../util/replicas.js';
import { shardGrads, type StepResult } from './step.js';

/** What rank 0 posts to a training replica for one step: its share of the batch. */
export interface ShardMessage {
  x: Float32Array;
  xShape: number[];
  labels: Int32Array;
  /** This share's fraction of the whole batch. */
  weight: number;
}

export type TrainReplicas = Replicas<ShardMessage>;

/** The rows of a batch of `n` that rank `rank` of `size` takes (core's `shareRange`). */
export const shardRange = shareRange;

/**
 * Splits a batch over a group of replicas: posts each worker its rows (with `extra`, the rest of
 * its message; buffers transferred) and returns this thread's rows (new tensors) and their
 * fraction of the batch.
 */
export function postShards<E extends object>(replicas: Replicas<ShardMessage & E>, x: tf.Tensor, labels: tf.Tensor, extra: E): { x: tf.Tensor; labels: tf.Tensor; weight: number } {
  const n = x.shape[0]!;
  const size = replicas.size;
  if (n < size) throw new LowbitError('E_ARG', `a batch of ${n} cannot be split over ${size} threads`);
  const per = x.size / n;
  const xs = x.dataSync() as Float32Array;
  const ys = Int32Array.from(labels.dataSync());
  for (let r = 1; r < size; r++) {
    const [a, b] = shardRange(n, r, size);
    const msg = { x: xs.slice(a * per, b * per), xShape: [b - a, ...x.shape.slice(1)], labels: ys.slice(a, b), weight: (b - a) / n, ...extra } as ShardMessage & E;
    replicas.post(r, msg, [msg.x.buffer as ArrayBuffer, msg.labels.buffer as ArrayBuffer]);
  }
  const [a, b] = shardRange(n, 0, size);
  return { x: tf.slice(x, a, b - a), labels: tf.slice(labels, a, b - a), weight: (b - a) / n };
}

/**
 * The entry of a replica worker that computes the gradients of the shares rank 0 posts: starts
 * the backend and joins the group; `prepare` builds the worker's own state and returns the
 * per-share computation (its gradients are summed with the other ranks' inside and discarded
 * here).
 */
export async function serveShards<I, M extends ShardMessage>(
  d: ReplicaWorkerData<I>,
  prepare: (group: ReplicaGroup) => (x: tf.Tensor, labels: tf.Tensor, m: M) => { grads: GradMap },
): Promise<ReplicaServer<M>> {
  await initBackend();
  const group = new ReplicaGroup(d.shared, d.rank, d.size);
  const run = prepare(group);
  return {
    group,
    handle(m) {
      tf.tidy(() => {
        tf.dispose(Object.values(run(tf.tensor(m.x, m.xShape), tf.tensor1d(m.labels, 'int32'), m).grads));
      });
    },
  };
}

/**
 * {@link trainStep} over a group of replicas (this thread is rank 0 and owns the network and the
 * optimiser): the batch is split into contiguous shares, each replica computes its share's
 * gradients with synchronised batch norm, the sums come back here and the optimiser steps. Same
 * result as the one-thread step up to float summation order (tested ≤ 1e-5).
 */
export function trainStepParallel(net: Network, optimizer: Optimizer, x: tf.Tensor, labels: tf.Tensor, replicas: TrainReplicas): StepResult {
  return tf.tidy(() => {
    const own = postShards(replicas, x, labels, {});
    const r = shardGrads(replicas.group, net, own.x, own.labels, own.weight);
    optimizer.step(paramMap(net), r.grads);
    tf.dispose(Object.values(r.grads));
    return { loss: r.loss, correct: r.correct };
  });
}

/** Training replicas' start-up data: the network they rebuild (its parameters come from rank 0 at every step). */
export interface TrainReplicaInit {
  spec: NetworkSpec;
}

/**
 * Starts `threads − 1` training replicas of `net` (worker threads running `replica.js` next to
 * this module, built); this thread is rank 0.
 */
export function startTrainReplicas(net: Network, threads: number, o: ReplicaStartOptions = {}): Promise<TrainReplicas> {
  const values = Object.values(paramMap(net, 'all')).reduce((s, v) => s + v.size, 0);
  return startLoopReplicas<TrainReplicaInit, ShardMessage>(new URL('./replica.js', import.meta.url), threads, values + 1, { spec: cloneSpec(net) }, o);
}

/** Creates the replica's own network from the spec (its values are overwritten from rank 0's at every step). */
export function replicaNetwork(d: ReplicaWorkerData<TrainReplicaInit>): Network {
  return createNetwork(d.init.spec, { seed: 0 });
}
