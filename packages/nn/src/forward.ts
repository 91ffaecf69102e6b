import * as tf from '@tensorflow/tfjs-core';
import { LowbitError } from '@lowbit/core';
import { analyze } from './analyze.js';
import { opFor } from './ops/registry.js';
import { activationSites } from './sites.js';
import { isLayer, type LayerSpec, type Network, type NetworkSpec, type NodeSpec } from './spec.js';

export interface ForwardOptions {
  /** Batch norm uses batch statistics (training mode). Default false (running statistics). */
  training?: boolean;
  /** In training mode, also update BN running statistics in place. Default false. */
  updateBnStats?: boolean;
  /**
   * Per-layer weight transform (fake quantization, learned rounding…), called with each
   * quantizable layer's kernel before use.
   */
  weight?: (layer: LayerSpec, kernel: tf.Tensor) => tf.Tensor;
  /**
   * Per-site activation transform (activation quantization, mixing), called once for every value
   * that feeds a quantizable layer (see `activationSites`); all consumers then see its result.
   */
  activation?: (site: string, x: tf.Tensor) => tf.Tensor;
  /** Substitute a node's parameters (e.g. switchable batch norm); return undefined to keep them. */
  params?: (node: NodeSpec, params: Record<string, tf.Tensor>) => Record<string, tf.Tensor> | undefined;
  /** Record block outputs: `true` for all blocks, or a list of block names. */
  tapBlocks?: boolean | readonly string[];
  /** Record node outputs: `true` for all nodes, or a list of node names. */
  tapNodes?: boolean | readonly string[];
  /**
   * Node taps record what the node produced, before the `activation` hook — not what its
   * consumers see. Default false: a node that is an activation site is tapped after the hook
   * (quantized), as block taps always are. Feature alignment losses (IDM) want the raw value.
   */
  tapBeforeActivationHook?: boolean;
  /** Start at this block; `x` is then the block's input (the previous block's output). */
  fromBlock?: string;
  /** Stop after this block; the output is that block's output. */
  toBlock?: string;
}

export interface ForwardResult {
  /**
   * The network's output. With several outputs (`spec.outputs`) and a run to the end: each
   * flattened and concatenated in order, `[batch, Σ sizes]` — what reconstruction, agreement and
   * evaluation compare.
   */
  output: tf.Tensor;
  /** Each output separately, for a run to the end (else only the last value run). */
  outputs: tf.Tensor[];
  /** Tapped values by block name (block taps) and node name (node taps). */
  blocks: Map<string, tf.Tensor>;
  nodes: Map<string, tf.Tensor>;
}

const siteCache = new WeakMap<NetworkSpec, Set<string>>();
function siteNames(spec: NetworkSpec): Set<string> {
  let s = siteCache.get(spec);
  if (!s) {
    s = new Set(activationSites(spec).map((x) => x.name));
    siteCache.set(spec, s);
  }
  return s;
}

function wants(sel: boolean | readonly string[] | undefined, name: string): boolean {
  return sel === true || (Array.isArray(sel) && sel.includes(name));
}

/**
 * Runs a network (or a range of its blocks) on a batch. One engine serves float, fake-quantized,
 * mixed and mixed-precision networks: quantization enters only through the `weight`, `activation`
 * and `params` hooks; taps return the block/node outputs that reconstruction losses compare.
 *
 * Call it inside `tf.tidy` (or a gradient function); it creates intermediate tensors.
 */
export function forward(net: Network, x: tf.Tensor, options: ForwardOptions = {}): ForwardResult {
  const info = analyze(net);
  const sites = siteNames(net);
  const ctx = { training: options.training ?? false, updateBnStats: options.updateBnStats ?? false };
  const values = new Map<string, tf.Tensor>();
  const blocks = new Map<string, tf.Tensor>();
  const nodes = new Map<string, tf.Tensor>();

  let first = 0;
  let last = info.order.length - 1;
  let startValue = 'input';
  if (options.fromBlock !== undefined) {
    const io = info.blockIO.get(options.fromBlock);
    if (!io) throw new LowbitError('E_BLOCK', `forward: unknown block '${options.fromBlock}' in network '${net.name}'`);
    first = io.first;
    startValue = io.input;
  }
  if (options.toBlock !== undefined) {
    const io = info.blockIO.get(options.toBlock);
    if (!io) throw new LowbitError('E_BLOCK', `forward: unknown block '${options.toBlock}' in network '${net.name}'`);
    last = io.last;
  }
  if (last < first) throw new LowbitError('E_BLOCK', `forward: block '${options.toBlock}' comes before '${options.fromBlock}'`);

  const put = (name: string, v: tf.Tensor) => {
    const t = options.activation && sites.has(name) ? options.activation(name, v) : v;
    values.set(name, t);
    return t;
  };
  put(startValue, x);

  for (let i = first; i <= last; i++) {
    const n = info.order[i]!;
    const spec = n.spec;
    const inputs = spec.inputs.map((name) => {
      const v = values.get(name);
      if (!v) throw new LowbitError('E_BLOCK', `forward: node '${spec.name}' needs '${name}', which is outside the blocks being run`);
      return v;
    });
    let params: Record<string, tf.Tensor> = net.params[spec.name] ?? {};
    if (options.params) params = options.params(spec, params) ?? params;
    if (options.weight && isLayer(spec)) params = { ...params, kernel: options.weight(spec, params['kernel']!) };
    const y = opFor(spec).forward(spec, inputs, params, ctx);
    const stored = put(spec.name, y);
    if (wants(options.tapNodes, spec.name)) nodes.set(spec.name, options.tapBeforeActivationHook ? y : stored);
    const io = info.blockIO.get(n.block)!;
    if (io.last === i && wants(options.tapBlocks, n.block)) blocks.set(n.block, stored);
  }
  const end = values.get(info.order[last]!.spec.name)!;
  if (last !== info.order.length - 1 || info.outputs.length === 1) return { output: end, outputs: [end], blocks, nodes };
  const outputs = info.outputs.map((o) => values.get(o)!);
  return { output: tf.concat(outputs.map((o) => tf.reshape(o, [o.shape[0]!, -1])), 1), outputs, blocks, nodes };
}

/** Logits of a float network in inference mode (convenience over {@link forward}). */
export function predict(net: Network, x: tf.Tensor): tf.Tensor {
  return forward(net, x).output;
}

/**
 * Runs one node on given inputs with the network's parameters (through the same `weight` /
 * `params` hooks as {@link forward}): layer-wise reconstruction optimises a single layer this way.
 */
export function runNode(net: Network, nodeName: string, inputs: tf.Tensor[], options: Pick<ForwardOptions, 'weight' | 'params' | 'training'> = {}): tf.Tensor {
  const info = analyze(net);
  const n = info.nodes.get(nodeName);
  if (!n) throw new LowbitError('E_NODE', `runNode: unknown node '${nodeName}' in network '${net.name}'`);
  const spec = n.spec;
  let params: Record<string, tf.Tensor> = net.params[spec.name] ?? {};
  if (options.params) params = options.params(spec, params) ?? params;
  if (options.weight && isLayer(spec)) params = { ...params, kernel: options.weight(spec, params['kernel']!) };
  return opFor(spec).forward(spec, inputs, params, { training: options.training ?? false, updateBnStats: false });
}
