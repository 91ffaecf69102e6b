import * as tf from '@tensorflow/tfjs-core';
import { setBatchNormSync } from '../batch-norm.js';
import { paramGrads } from '../optim/grads.js';
import type { GradMap, ParamMap } from '../optim/optimizer.js';
import type { ReplicaGroup } from './replica-group.js';

/** The values of every variable of `params`, in sorted key order, in one array. */
export function flattenParams(params: ParamMap): Float32Array {
  const keys = Object.keys(params).sort();
  const out = new Float32Array(keys.reduce((n, k) => n + params[k]!.size, 0));
  let off = 0;
  for (const k of keys) {
    out.set(params[k]!.dataSync() as Float32Array, off);
    off += params[k]!.size;
  }
  return out;
}

/** Assigns `flat` (laid out as {@link flattenParams} does) to the variables of `params`. */
export function assignParams(params: ParamMap, flat: Float32Array): void {
  const keys = Object.keys(params).sort();
  const total = keys.reduce((n, k) => n + params[k]!.size, 0);
  if (flat.length !== total) throw new RangeError(`assignParams: ${flat.length} values for parameters of ${total}`);
  let off = 0;
  for (const k of keys) {
    const v = params[k]!;
    tf.tidy(() => v.assign(tf.tensor(flat.subarray(off, off + v.size), v.shape, v.dtype)));
    off += v.size;
  }
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
 * One data-parallel gradient evaluation: every rank calls it with its share of the batch. `f` is
 * this rank's share of the loss — weighted so that the shares add up to the whole batch's loss
 * (for a mean over the batch: the mean over this rank's examples × its fraction of the batch).
 * Training-mode batch norm inside `f` normalises with the whole batch's statistics. Returns the
 * summed loss and the summed gradients, identical on every rank (float64 sums in rank order);
 * the caller disposes the gradients. With a group of one this is `paramGrads`.
 */
export function replicaParamGrads(group: ReplicaGroup, params: ParamMap, f: () => tf.Scalar): { value: number; grads: GradMap } {
  setBatchNormSync(group.size > 1 ? group : null);
  let local: { value: tf.Scalar; grads: GradMap };
  try {
    local = paramGrads(f, params);
  } finally {
    setBatchNormSync(null);
  }
  const keys = Object.keys(local.grads).sort();
  const flat = new Float32Array(keys.reduce((n, k) => n + local.grads[k]!.size, 1));
  let off = 0;
  for (const k of keys) {
    flat.set(local.grads[k]!.dataSync() as Float32Array, off);
    off += local.grads[k]!.size;
  }
  flat[off] = local.value.dataSync()[0]!;
  const shapes = keys.map((k) => local.grads[k]!.shape);
  tf.dispose([local.value, ...Object.values(local.grads)]);
  if (group.size > 1) group.allReduce(flat);
  const grads: GradMap = {};
  off = 0;
  keys.forEach((k, i) => {
    const n = shapes[i]!.reduce((a, b) => a * b, 1);
    grads[k] = tf.tensor(flat.subarray(off, off + n), shapes[i]!);
    off += n;
  });
  return { value: flat[off]!, grads };
}
