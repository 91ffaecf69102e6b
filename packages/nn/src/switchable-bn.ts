import * as tf from '@tensorflow/tfjs-core';
import { LowbitError } from '@lowbit/core';
import { analyze } from './analyze.js';
import type { ForwardOptions } from './forward.js';
import { isLayer, type Network, type NodeSpec } from './spec.js';

/**
 * The batch-norm nodes of a network, each with the quantizable layer that feeds it (or `null`
 * when its input is not a layer's output).
 */
export function batchNormProducers(net: Network): Map<string, string | null> {
  const info = analyze(net);
  const out = new Map<string, string | null>();
  for (const n of info.order) {
    if (n.spec.op !== 'batchNorm') continue;
    const src = info.nodes.get(n.spec.inputs[0]!);
    out.set(n.spec.name, src && isLayer(src.spec) ? src.spec.name : null);
  }
  return out;
}

/** One batch norm's parameters for one key: affine (trainable) and running statistics. */
export type BatchNormSet = Record<'gamma' | 'beta' | 'movingMean' | 'movingVariance', tf.Variable>;

/**
 * Switchable batch norm (as in slimmable / one-shot mixed-precision networks): every batch-norm
 * node holds one set of affine parameters and running statistics per key (e.g. per (weight bits,
 * activation bits) pair of the layer before it), all initialised from the network's own. The
 * `params` hook of {@link SwitchableBatchNorm.hook} makes `forward` use the set a selector names,
 * so training (`updateBnStats`) and inference each touch the selected set only.
 */
export interface SwitchableBatchNorm {
  /** batch-norm node → key → parameter set. */
  readonly sets: Map<string, Map<string, BatchNormSet>>;
  /** A `ForwardOptions.params` hook; `select(bn)` returns the key to use (undefined: the network's own BN). */
  hook(select: (bn: string) => string | undefined): NonNullable<ForwardOptions['params']>;
  /** Trainable variables (gamma/beta of every set) keyed `bn/<key>/<param>`. */
  trainable(): Record<string, tf.Variable>;
  /** Every variable (affine and statistics) keyed `bn/<key>/<param>`, for checkpoints. */
  all(): Record<string, tf.Variable>;
  dispose(): void;
}

/** Builds switchable batch norm for `net`: `keysFor(bn, producerLayer)` lists the keys each BN node needs. */
export function switchableBatchNorm(net: Network, keysFor: (bn: string, producer: string | null) => readonly string[]): SwitchableBatchNorm {
  const sets = new Map<string, Map<string, BatchNormSet>>();
  for (const [bn, producer] of batchNormProducers(net)) {
    const own = net.params[bn]!;
    const byKey = new Map<string, BatchNormSet>();
    for (const key of keysFor(bn, producer)) {
      if (key.includes('/')) throw new LowbitError('E_SBN', `switchable batch norm '${bn}': key '${key}' must not contain '/'`);
      if (byKey.has(key)) continue;
      // (tf.variable copies a variable's values; a tf.clone beside it would never be disposed)
      byKey.set(key, {
        gamma: tf.variable(own['gamma']!, true),
        beta: tf.variable(own['beta']!, true),
        movingMean: tf.variable(own['movingMean']!, false),
        movingVariance: tf.variable(own['movingVariance']!, false),
      });
    }
    sets.set(bn, byKey);
  }
  const collect = (trainableOnly: boolean) => {
    const out: Record<string, tf.Variable> = {};
    for (const [bn, byKey] of sets) {
      for (const [key, set] of byKey) {
        for (const [p, v] of Object.entries(set)) if (!trainableOnly || v.trainable) out[`${bn}/${key}/${p}`] = v;
      }
    }
    return out;
  };
  return {
    sets,
    hook(select) {
      return (node: NodeSpec) => {
        const byKey = sets.get(node.name);
        if (!byKey) return undefined;
        const key = select(node.name);
        if (key === undefined) return undefined;
        const set = byKey.get(key);
        if (!set) throw new LowbitError('E_SBN', `switchable batch norm '${node.name}': no parameter set for key '${key}' (has ${[...byKey.keys()].join(', ')})`);
        return set;
      };
    },
    trainable: () => collect(true),
    all: () => collect(false),
    dispose() {
      for (const byKey of sets.values()) for (const set of byKey.values()) for (const v of Object.values(set)) v.dispose();
      sets.clear();
    },
  };
}
