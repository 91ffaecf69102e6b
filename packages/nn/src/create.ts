import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@lowbit/core';
import { analyze } from './analyze.js';
import type { ParamDef } from './ops/op-def.js';
import { opFor } from './ops/registry.js';
import { type Network, type NetworkSpec, type NodeParams, specOf } from './spec.js';

function initValues(def: ParamDef, rng: Rng): Float32Array {
  const n = def.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  switch (def.init) {
    case 'zeros':
      break;
    case 'ones':
      out.fill(1);
      break;
    case 'heNormal': {
      const std = Math.sqrt(2 / (def.fanIn ?? 1));
      for (let i = 0; i < n; i++) out[i] = std * rng.normal();
      break;
    }
    case 'glorotUniform': {
      const lim = Math.sqrt(6 / ((def.fanIn ?? 1) + (def.fanOut ?? 1)));
      for (let i = 0; i < n; i++) out[i] = (rng.float() * 2 - 1) * lim;
      break;
    }
  }
  return out;
}

/** The parameter definitions (shapes, initialisers) of every node of a spec. */
export function paramDefs(spec: NetworkSpec): Record<string, Record<string, ParamDef>> {
  const info = analyze(spec);
  const out: Record<string, Record<string, ParamDef>> = {};
  for (const n of info.order) {
    const defs = opFor(n.spec).params(n.spec, n.inShapes);
    if (Object.keys(defs).length > 0) out[n.spec.name] = defs;
  }
  return out;
}

/** Builds a network from a spec with freshly initialised (seeded) weights. */
export function createNetwork(spec: NetworkSpec, options: { seed?: number } = {}): Network {
  const rng = new Rng(options.seed ?? 0);
  const params: Record<string, NodeParams> = {};
  for (const [node, defs] of Object.entries(paramDefs(spec))) {
    params[node] = {};
    for (const [name, def] of Object.entries(defs)) {
      // (in a tidy: the initial tensor would otherwise stay registered, holding the weights' memory after dispose)
      params[node][name] = tf.tidy(() => tf.variable(tf.tensor(initValues(def, rng), def.shape, 'float32'), def.trainable));
    }
  }
  return { ...cloneSpec(spec), params };
}

export function cloneSpec(spec: NetworkSpec): NetworkSpec {
  return JSON.parse(JSON.stringify(specOf(spec)));
}

/** A deep copy: same spec, new variables holding copies of the weights. */
export function cloneNetwork(net: Network): Network {
  const params: Record<string, NodeParams> = {};
  for (const [node, ps] of Object.entries(net.params)) {
    params[node] = {};
    for (const [name, v] of Object.entries(ps)) params[node][name] = tf.variable(v, v.trainable);
  }
  return { ...cloneSpec(net), params };
}

/** The trainable variables of a network (conv/dense kernels and biases, BN gamma/beta). */
export function trainableVariables(net: Network): tf.Variable[] {
  return Object.values(net.params).flatMap((ps) => Object.values(ps).filter((v) => v.trainable));
}

/** Number of trainable parameters. */
export function countParams(net: Network, which: 'trainable' | 'all' = 'trainable'): number {
  return Object.values(net.params)
    .flatMap((ps) => Object.values(ps))
    .filter((v) => which === 'all' || v.trainable)
    .reduce((a, v) => a + v.size, 0);
}

/** Frees every variable of the network. */
export function disposeNetwork(net: Network): void {
  for (const ps of Object.values(net.params)) for (const v of Object.values(ps)) v.dispose();
}

/** Parameters keyed `node/param` (stable across processes, unlike tfjs variable names). */
export function paramMap(net: Network, which: 'trainable' | 'all' = 'trainable'): Record<string, tf.Variable> {
  const out: Record<string, tf.Variable> = {};
  for (const [node, ps] of Object.entries(net.params)) {
    for (const [p, v] of Object.entries(ps)) if (which === 'all' || v.trainable) out[`${node}/${p}`] = v;
  }
  return out;
}
