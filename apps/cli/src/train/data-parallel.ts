import * as tf from '@tensorflow/tfjs-core';
import { broadcastParams, LowbitError, type Optimizer, type ReplicaGroup, replicaParamGrads, shareRange } from '@lowbit/core';
import { type ReplicaWorkerData, type Replicas, startReplicas } from '@lowbit/core/node';
import { createNetwork, forward, type Network, type NetworkSpec, paramMap } from '@lowbit/nn';
import { crossEntropy, type StepResult } from './step.js';

/** What rank 0 posts to a training replica for one step: its share of the batch. */
export interface ShardMessage {
  x: Float32Array;
  xShape: number[];
  labels: Int32Array;
  /** This share's fraction of the whole batch. */
  weight: number;
}

export type TrainReplicas = Replicas<ShardMessage>;

/**
 * One rank's part of a data-parallel training step: take rank 0's parameters (all of them, so
 * running statistics too), forward and backward on this share with batch norm synchronised over
 * the group, and sum loss, gradients and correct counts over the ranks. Returns the summed
 * gradients (the caller disposes them) — the whole batch's, as in {@link trainStep}.
 */
export function shardGrads(group: ReplicaGroup, net: Network, x: tf.Tensor, labels: tf.Tensor, weight: number) {
  broadcastParams(group, paramMap(net, 'all'));
  const params = paramMap(net);
  let correct: tf.Tensor | null = null;
  const { value, grads } = replicaParamGrads(group, params, () => {
    const logits = forward(net, x, { training: true, updateBnStats: true }).output;
    correct = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.cast(labels, 'int32')), 'int32')));
    return tf.mul(crossEntropy(logits, labels), weight) as tf.Scalar;
  });
  const kept = correct as unknown as tf.Tensor;
  const counts = new Float64Array([kept.dataSync()[0]!]);
  kept.dispose();
  group.allReduce(counts);
  return { loss: value, correct: counts[0]!, grads };
}

/** The rows of a batch of `n` that rank `rank` of `size` takes (core's `shareRange`). */
export const shardRange = shareRange;

/**
 * {@link trainStep} over a group of replicas (this thread is rank 0 and owns the network and the
 * optimiser): the batch is split into contiguous shares, each replica computes its share's
 * gradients with synchronised batch norm, the sums come back here and the optimiser steps. Same
 * result as the one-thread step up to float summation order (tested ≤ 1e-5).
 */
export function trainStepParallel(net: Network, optimizer: Optimizer, x: tf.Tensor, labels: tf.Tensor, replicas: TrainReplicas): StepResult {
  const n = x.shape[0]!;
  const size = replicas.size;
  if (n < size) throw new LowbitError('E_ARG', `a batch of ${n} cannot be split over ${size} threads`);
  const per = x.size / n;
  const xs = x.dataSync() as Float32Array;
  const ys = Int32Array.from(labels.dataSync());
  for (let r = 1; r < size; r++) {
    const [a, b] = shardRange(n, r, size);
    const msg: ShardMessage = { x: xs.slice(a * per, b * per), xShape: [b - a, ...x.shape.slice(1)], labels: ys.slice(a, b), weight: (b - a) / n };
    replicas.post(r, msg, [msg.x.buffer as ArrayBuffer, msg.labels.buffer as ArrayBuffer]);
  }
  const [a, b] = shardRange(n, 0, size);
  return tf.tidy(() => {
    const x0 = tf.slice(x, 0, b - a);
    const y0 = tf.slice(labels, 0, b - a);
    const r = shardGrads(replicas.group, net, x0, y0, (b - a) / n);
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
 * this module, built); this thread is rank 0. `module`/`execArgv` override the worker module and
 * Node options (tests point them at the build).
 */
export async function startTrainReplicas(net: Network, threads: number, o: { module?: URL; execArgv?: string[] } = {}): Promise<TrainReplicas> {
  if (!Number.isInteger(threads) || threads < 2) throw new LowbitError('E_ARG', `data-parallel training needs at least 2 threads, got ${threads}`);
  const spec: NetworkSpec = { name: net.name, inputShape: net.inputShape, nodes: net.nodes, blocks: net.blocks };
  const values = Object.values(paramMap(net, 'all')).reduce((s, v) => s + v.size, 0);
  return startReplicas<TrainReplicaInit, ShardMessage>({
    module: o.module ?? new URL('./replica.js', import.meta.url),
    size: threads,
    capacity: values + 1,
    init: { spec },
    ...(o.execArgv ? { execArgv: o.execArgv } : {}),
  });
}

/** Creates the replica's own network from the spec (its values are overwritten from rank 0's at every step). */
export function replicaNetwork(d: ReplicaWorkerData<TrainReplicaInit>): Network {
  return createNetwork(d.init.spec, { seed: 0 });
}
