import * as tf from '@tensorflow/tfjs-core';
import { LowbitError } from '@lowbit/core';
import { analyze } from './analyze.js';
import { type ForwardOptions, forward } from './forward.js';
import type { Network } from './spec.js';

export interface ReestimateOptions extends Omit<ForwardOptions, 'training' | 'updateBnStats' | 'tapNodes' | 'tapBlocks' | 'fromBlock' | 'toBlock'> {
  /** Batch-norm nodes to re-estimate (default all). */
  only?: readonly string[];
}

interface Moments {
  count: number;
  mean: tf.Tensor;
  m2: tf.Tensor;
}

/**
 * Re-estimates batch-norm running statistics on calibration batches: runs the network in training
 * mode (each BN normalises with its batch statistics, as during training) under the given hooks —
 * quantizers, switchable BN selection — and sets each BN's running mean and (unbiased) variance to
 * the exact moments of its input over all batches (merged per batch, numerically stable). The
 * parameters written are the ones the `params` hook resolves, so with switchable batch norm only
 * the selected sets change. Quantized networks whose BN statistics no longer match their
 * activations (mixed bit-widths, one-shot weights) need this before evaluation.
 *
 * Returns the number of batches and samples used.
 */
export function reestimateBatchNorm(net: Network, batches: Iterable<tf.Tensor>, options: ReestimateOptions = {}): { batches: number; samples: number } {
  const info = analyze(net);
  const bns = info.order.filter((n) => n.spec.op === 'batchNorm' && (!options.only || options.only.includes(n.spec.name)));
  const inputs = bns.map((n) => n.spec.inputs[0]!);
  const stats = new Map<string, Moments>();
  const { only: _only, ...hooks } = options;
  let nb = 0;
  let samples = 0;
  try {
    for (const x of batches) {
      nb++;
      samples += x.shape[0]!;
      tf.tidy(() => {
        const r = forward(net, x, { ...hooks, training: true, updateBnStats: false, tapNodes: inputs });
        bns.forEach((n, i) => {
          const v = inputs[i] === 'input' ? x : r.nodes.get(inputs[i]!);
          if (!v) throw new LowbitError('E_BN', `reestimateBatchNorm: no value for the input of '${n.spec.name}'`);
          const c = v.shape[v.rank - 1]!;
          const flat = tf.reshape(v, [-1, c]);
          const m = flat.shape[0]!;
          const { mean: bm, variance: bv } = tf.moments(flat, 0);
          const prev = stats.get(n.spec.name);
          if (!prev) {
            stats.set(n.spec.name, { count: m, mean: tf.keep(bm), m2: tf.keep(tf.mul(bv, m)) });
            return;
          }
          const total = prev.count + m;
          const delta = tf.sub(bm, prev.mean);
          const mean = tf.keep(tf.add(prev.mean, tf.mul(delta, m / total)));
          const m2 = tf.keep(tf.add(tf.add(prev.m2, tf.mul(bv, m)), tf.mul(tf.square(delta), (prev.count * m) / total)));
          prev.mean.dispose();
          prev.m2.dispose();
          stats.set(n.spec.name, { count: total, mean, m2 });
        });
      });
    }
    if (nb === 0) throw new LowbitError('E_CALIB', 'reestimateBatchNorm: no calibration batches');
    for (const n of bns) {
      const s = stats.get(n.spec.name)!;
      const own = net.params[n.spec.name]!;
      const target = options.params?.(n.spec, own) ?? own;
      const mm = target['movingMean'];
      const mv = target['movingVariance'];
      if (!(mm instanceof tf.Variable) || !(mv instanceof tf.Variable)) {
        throw new LowbitError('E_BN', `reestimateBatchNorm: running statistics of '${n.spec.name}' are not variables`);
      }
      tf.tidy(() => {
        mm.assign(s.mean);
        mv.assign(tf.div(s.m2, Math.max(1, s.count - 1)));
      });
    }
  } finally {
    for (const s of stats.values()) {
      s.mean.dispose();
      s.m2.dispose();
    }
  }
  return { batches: nb, samples };
}
