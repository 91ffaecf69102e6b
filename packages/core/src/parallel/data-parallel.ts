import * as tf from '@tensorflow/tfjs-core';
import { setBatchNormSync } from '../batch-norm.js';
import { paramGrads } from '../optim/grads.js';
import type { GradMap, ParamMap } from '../optim/optimizer.js';
import type { ReplicaGroup } from './replica-group.js';

/** The values of every tensor of `params` (variables or gradients), in sorted key order, in one array. */
export function flattenParams(params: Record<string, tf.Tensor>): Float32Array {
  const keys = Object.keys(params).sort();
  const out = new Float32Array(keys.reduce((n, k) => n + params[k]!.size, 0));
  let off = 0;
  for (const k of keys) {
    out.set(params[k]!.dataSync() as Float32Array, off);
    off += params[k]!.size;
  }
  return out;
}

/** Calls `fn` with each tensor of `params` and its values in `flat` (laid out as {@link flattenParams} does). */
function eachSlice<T extends tf.Tensor>(params: Record<string, T>, flat: Float32Array, fn: (key: string, t: T, values: Float32Array) => void): void {
  const keys = Object.keys(params).sort();
  const total = keys.reduce((n, k) => n + params[k]!.size, 0);
  if (flat.length !== total) throw new RangeError(`${flat.length} values for tensors of ${total}`);
  let off = 0;
  for (const k of keys) {
    const t = params[k]!;
    fn(k, t, flat.subarray(off, off + t.size));
    off += t.size;
  }
}

/** Assigns `flat` (laid out as {@link flattenParams} does) to the variables of `params`. */
export function assignParams(params: ParamMap, flat: Float32Array): void {
  eachSlice(params, flat, (_k, v, values) => tf.tidy(() => v.assign(tf.tensor(values, v.shape, v.dtype))));
}

/**
 * Makes the variables of `params` on every rank equal to rank 0's (all of them, trainable or not:
 * pass the same map on every rank).
 */
export function broadcastParams(group: ReplicaGroup, params: ParamMap): void {
  if (group.size === 1) return;
  const flat = group.rank === 0 ? flattenParams(params) : new Float32Array(Object.values(params).reduce((n, v) => n + v.size, 0));
  group.broadcast(flat);
  if (group.rank !== 0) assignParams(params, flat);
}

/**
 * Runs `fn` with training-mode batch norm synchronised over `group` (normalising with the
 * statistics of the whole batch split over the ranks; see `setBatchNormSync`), then restores
 * plain batch norm. Every rank must run the same sequence of batch norms inside.
 */
export function withBatchNormSync<T>(group: ReplicaGroup, fn: () => T): T {
  setBatchNormSync(group.size > 1 ? group : null);
  try {
    return fn();
  } finally {
    setBatchNormSync(null);
  }
}

/**
 * Sums `grads` (and the numbers `extras`) over the ranks: returns new gradient tensors, identical
 * on every rank (float64 sums in rank order), and the summed extras, and disposes the given
 * gradients. A group of one returns them as they are. Every rank must pass gradients for the same
 * keys and shapes.
 */
export function allReduceGrads(group: ReplicaGroup, grads: GradMap, extras: number[] = []): { grads: GradMap; extras: number[] } {
  if (group.size === 1) return { grads, extras };
  const flat = flattenParams(grads);
  group.allReduce(flat);
  const sums = Float64Array.from(extras);
  if (sums.length) group.allReduce(sums);
  const out: GradMap = {};
  eachSlice(grads, flat, (k, g, values) => {
    out[k] = tf.tensor(values, g.shape);
  });
  tf.dispose(Object.values(grads));
  return { grads: out, extras: [...sums] };
}

/**
 * One data-parallel gradient evaluation: every rank calls it with its share of the batch. `f` is
 * this rank's share of the loss — weighted so that the shares add up to the whole batch's loss
 * (for a mean over the batch: the mean over this rank's examples × its fraction of the batch).
 * Training-mode batch norm inside `f` normalises with the whole batch's statistics. Returns the
 * summed loss and the summed gradients, identical on every rank (float64 sums in rank order);
 * the caller disposes the gradients. With a group of one this is `paramGrads`.
 */
export function replicaParamGrads(group: ReplicaGroup, params: ParamMap, f: () => tf.Scalar): { value: number; grads: GradMap } {
  const local = withBatchNormSync(group, () => paramGrads(f, params));
  const value = local.value.dataSync()[0]!;
  local.value.dispose();
  const r = allReduceGrads(group, local.grads, [value]);
  return { value: r.extras[0]!, grads: r.grads };
}
