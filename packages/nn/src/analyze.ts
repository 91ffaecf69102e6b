import { checkNetworkSpec } from './schema.js';
import { LowbitError } from '@lowbit/core';
import { opFor } from './ops/registry.js';
import type { NetworkSpec, NodeSpec, Shape } from './spec.js';

/** Static facts about one node: its input/output shapes and multiply-accumulates per sample. */
export interface NodeInfo {
  spec: NodeSpec;
  index: number;
  block: string;
  inShapes: Shape[];
  outShape: Shape;
  macs: number;
  consumers: string[];
}

/** Static facts about a network spec, computed once and cached per spec object. */
export interface NetworkInfo {
  nodes: Map<string, NodeInfo>;
  order: NodeInfo[];
  /** The last node (the output of a single-output network). */
  output: string;
  /** The last node's shape; with several outputs, `[Σ sizes]` (the flattened, concatenated output of `forward`). */
  outputShape: Shape;
  /** The output values in order (`spec.outputs`, or the last node). */
  outputs: string[];
  /** For each block: the value it reads from outside (previous block's output or `'input'`) and its output. */
  blockIO: Map<string, { input: string; output: string; first: number; last: number }>;
  inputConsumers: string[];
}

const cache = new WeakMap<NetworkSpec, NetworkInfo>();

/**
 * Validates a network spec and infers shapes. Errors name the node and what is wrong: unknown
 * inputs, duplicate names, nodes outside any block, blocks reading from other blocks than the
 * previous one, shape mismatches.
 */
export function analyze(spec: NetworkSpec): NetworkInfo {
  const hit = cache.get(spec);
  if (hit) return hit;
  // field types and ranges (positive input shape, at least one node, every node's attributes); the graph is checked below
  checkNetworkSpec(spec, `network '${String((spec as { name?: unknown } | null)?.name ?? '')}'`, 'E_SPEC');
  const blockOf = new Map<string, string>();
  for (const b of spec.blocks) {
    for (const n of b.nodes) {
      if (blockOf.has(n)) throw new LowbitError('E_SPEC', `network '${spec.name}': node '${n}' is in blocks '${blockOf.get(n)}' and '${b.name}'`);
      blockOf.set(n, b.name);
    }
  }
  const shapes = new Map<string, Shape>([['input', spec.inputShape]]);
  const nodes = new Map<string, NodeInfo>();
  const order: NodeInfo[] = [];
  const inputConsumers: string[] = [];
  spec.nodes.forEach((n, index) => {
    if (n.name === 'input' || nodes.has(n.name)) throw new LowbitError('E_SPEC', `network '${spec.name}': duplicate or reserved node name '${n.name}'`);
    const block = blockOf.get(n.name);
    if (block === undefined) throw new LowbitError('E_SPEC', `network '${spec.name}': node '${n.name}' belongs to no block`);
    const def = opFor(n);
    if (def.arity !== 'many' && n.inputs.length !== def.arity) {
      throw new LowbitError('E_SPEC', `node '${n.name}' (${n.op}): expected ${def.arity} input(s), got ${n.inputs.length}`);
    }
    if (def.arity === 'many' && n.inputs.length < 2) throw new LowbitError('E_SPEC', `node '${n.name}' (${n.op}): needs at least 2 inputs`);
    const inShapes = n.inputs.map((i) => {
      const s = shapes.get(i);
      if (!s) throw new LowbitError('E_SPEC', `node '${n.name}': input '${i}' is not the network input nor an earlier node`);
      if (i === 'input') inputConsumers.push(n.name);
      else nodes.get(i)!.consumers.push(n.name);
      return s;
    });
    const outShape = def.outputShape(n, inShapes);
    const info: NodeInfo = { spec: n, index, block, inShapes, outShape, macs: def.macs(n, inShapes, outShape), consumers: [] };
    nodes.set(n.name, info);
    order.push(info);
    shapes.set(n.name, outShape);
  });
  const blockIO = new Map<string, { input: string; output: string; first: number; last: number }>();
  let prevOutput = 'input';
  for (const b of spec.blocks) {
    if (b.nodes.length === 0) throw new LowbitError('E_SPEC', `block '${b.name}' has no nodes`);
    const idx = b.nodes.map((n) => {
      const i = nodes.get(n);
      if (!i) throw new LowbitError('E_SPEC', `block '${b.name}': unknown node '${n}'`);
      return i.index;
    });
    const first = Math.min(...idx);
    const last = Math.max(...idx);
    if (last - first + 1 !== idx.length) throw new LowbitError('E_SPEC', `block '${b.name}': its nodes must be consecutive in the node list`);
    for (const i of idx) {
      for (const src of order[i]!.spec.inputs) {
        if (src !== prevOutput && blockOf.get(src) !== b.name) {
          throw new LowbitError(
            'E_SPEC',
            `block '${b.name}': node '${order[i]!.spec.name}' reads '${src}', which is neither in the block nor the previous block's output '${prevOutput}'`,
          );
        }
      }
    }
    const output = order[last]!.spec.name;
    blockIO.set(b.name, { input: prevOutput, output, first, last });
    prevOutput = output;
  }
  const blockStarts = [...blockIO.values()].sort((a, b) => a.first - b.first);
  for (let i = 1; i < blockStarts.length; i++) {
    if (blockStarts[i]!.first !== blockStarts[i - 1]!.last + 1) throw new LowbitError('E_SPEC', `network '${spec.name}': blocks must be listed in node order`);
  }
  const last = order[order.length - 1]!;
  const outputs = spec.outputs ?? [last.spec.name];
  if (outputs.length === 0 || !outputs.includes(last.spec.name)) {
    throw new LowbitError('E_SPEC', `network '${spec.name}': outputs [${outputs.join(', ')}] must include the last node '${last.spec.name}'`);
  }
  const lastBlock = spec.blocks[spec.blocks.length - 1]!.name;
  for (const o of outputs) {
    const n = nodes.get(o);
    if (!n) throw new LowbitError('E_SPEC', `network '${spec.name}': output '${o}' is not a node`);
    if (n.block !== lastBlock) throw new LowbitError('E_SPEC', `network '${spec.name}': output '${o}' is in block '${n.block}', not in the last block '${lastBlock}'`);
  }
  if (new Set(outputs).size !== outputs.length) throw new LowbitError('E_SPEC', `network '${spec.name}': outputs [${outputs.join(', ')}] name a node twice`);
  const result: NetworkInfo = { nodes, order, output: last.spec.name, outputShape: outputs.length === 1 ? last.outShape : [outputs.reduce((t, o) => t + nodes.get(o)!.outShape.reduce((a, b) => a * b, 1), 0)], outputs, blockIO, inputConsumers };
  cache.set(spec, result);
  return result;
}
