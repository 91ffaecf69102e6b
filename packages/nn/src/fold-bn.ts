import * as tf from '@tensorflow/tfjs-core';
import { analyze } from './analyze.js';
import { cloneSpec } from './create.js';
import { isLayer, type LayerSpec, type Network, type NodeParams, type NodeSpec } from './spec.js';

/**
 * Folds every batch norm that directly follows a conv / depthwise conv / dense layer (and is
 * that layer's only consumer) into the layer's kernel and bias:
 * `W' = W·γ/√(σ²+ε)` per output channel, `b' = β + (b − μ)·γ/√(σ²+ε)`.
 * Returns a new network (new variables); the input network is untouched. References to a folded
 * BN node are rewritten to its layer, which keeps its own name.
 */
export function foldBatchNorm(net: Network): Network {
  const info = analyze(net);
  const folded = new Map<string, string>(); // bn name → layer name
  for (const n of info.order) {
    const s = n.spec;
    if (s.op !== 'batchNorm') continue;
    const src = info.nodes.get(s.inputs[0]!);
    if (!src || !isLayer(src.spec) || src.consumers.length !== 1) continue;
    folded.set(s.name, src.spec.name);
  }
  const spec = cloneSpec(net);
  const rename = (v: string) => folded.get(v) ?? v;
  const nodes: NodeSpec[] = [];
  const params: Record<string, NodeParams> = {};
  const foldedInto = new Map([...folded].map(([bn, layer]) => [layer, bn]));
  for (const s of spec.nodes) {
    if (folded.has(s.name)) continue;
    const copy = { ...s, inputs: s.inputs.map(rename) } as NodeSpec;
    const bnName = foldedInto.get(s.name);
    if (bnName !== undefined && isLayer(copy)) {
      (copy as LayerSpec).useBias = true;
      const bnSpec = info.nodes.get(bnName)!.spec as Extract<NodeSpec, { op: 'batchNorm' }>;
      params[s.name] = foldParams(copy, net.params[s.name]!, net.params[bnName]!, bnSpec.epsilon);
    } else if (net.params[s.name]) {
      params[s.name] = Object.fromEntries(Object.entries(net.params[s.name]!).map(([k, v]) => [k, tf.variable(v, v.trainable)]));
    }
    nodes.push(copy);
  }
  const blocks = spec.blocks.map((b) => ({ name: b.name, nodes: b.nodes.filter((n) => !folded.has(n)) }));
  return { name: spec.name, inputShape: spec.inputShape, nodes, blocks, ...(spec.outputs ? { outputs: spec.outputs.map(rename) } : {}), params };
}

function foldParams(layer: LayerSpec, lp: NodeParams, bp: NodeParams, eps: number): NodeParams {
  return tf.tidy(() => {
    const a = tf.div(bp['gamma']!, tf.sqrt(tf.add(bp['movingVariance']!, eps)));
    const kernel = lp['kernel']!;
    let scale: tf.Tensor = a;
    if (layer.op === 'depthwiseConv2d') scale = tf.reshape(a, [kernel.shape[2]!, kernel.shape[3]!]);
    if (layer.op === 'conv2dTranspose') scale = tf.reshape(a, [kernel.shape[2]!, 1]);
    const k = tf.mul(kernel, scale);
    const b0 = lp['bias'] ?? tf.zeros(a.shape);
    const b = tf.add(bp['beta']!, tf.mul(tf.sub(b0, bp['movingMean']!), a));
    return { kernel: tf.variable(k, true), bias: tf.variable(b, true) };
  });
}
