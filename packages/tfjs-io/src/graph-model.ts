import * as tf from '@tensorflow/tfjs-core';
import { LowbitError } from '@lowbit/core';
import { analyze, checkNetworkSpec, type Network, type NetworkSpec, } from '@lowbit/nn';
import { detectBlocks } from './blocks.js';
import { importedNetwork } from './import-params.js';
import { FOLD, shapeConst } from './graph/fold.js';
import { clean, dataInputs, type GNode } from './graph/graph-node.js';
import { GraphImport } from './graph/import-context.js';
import { importerFor } from './graph/registry.js';
import { liveValues } from './live-nodes.js';
import { nonFinite, type TfjsArtifacts } from './read-artifacts.js';

/** Graph nodes that carry no computation of their own. */
const PASSIVE = new Set(['Placeholder', 'Const', 'Identity', 'NoOp']);

/** Why a graph node can never be imported, or null. */
function whyNot(n: GNode): string | null {
  if (PASSIVE.has(n.op) || n.op === 'Shape') return null;
  const imp = importerFor.get(n.op);
  if (imp) return imp.check?.(n) ?? null;
  return FOLD[n.op] ? null : `op '${n.op}' is not supported`;
}

/**
 * Imports a TF.js GraphModel into the lowbit IR. Each TF op is imported by the importer
 * registered for it (`graph/registry.ts`); static shape arithmetic and other expressions of
 * constants are computed at import and never reach the IR. Constant weights are attached to the
 * layers that use them, BiasAdd after a bias-free layer becomes that layer's bias, Mean over the
 * spatial axes becomes global average pooling, constant Mul/Add/Sub/RealDiv become rescaling,
 * Maximum/Minimum with a constant become clipping (relu / relu6 where they are). Every node no
 * importer can take is listed before any work.
 */
export function importGraphModel(a: TfjsArtifacts): Network {
  const topo = a.json['modelTopology'] as { node?: Array<Omit<GNode, 'input'> & { input?: string[] }> };
  const gnodes: GNode[] = (topo.node ?? []).map((n) => ({ ...n, input: n.input ?? [], attr: n.attr ?? {} }));
  // a name given twice would make every input that names it ambiguous (one of the two silently wins)
  const names = new Map<string, number>();
  for (const [i, n] of gnodes.entries()) {
    const first = names.get(n.name);
    if (first !== undefined) throw new LowbitError('E_FORMAT', `${a.path}: field 'modelTopology.node[${i}].name' is '${n.name}', the name of node[${first}] too; node names must be unique`);
    names.set(n.name, i);
  }
  const problems = gnodes.map((n) => [n, whyNot(n)] as const).filter(([, w]) => w !== null);
  if (problems.length) {
    throw new LowbitError('E_UNSUPPORTED', `${a.path}: cannot import ${problems.length} node(s):\n${problems.map(([n, w]) => `  - '${n.name}' (${n.op}): ${w}`).join('\n')}`, {
      nodes: problems.map(([n]) => n.name),
    });
  }
  const placeholders = gnodes.filter((n) => n.op === 'Placeholder');
  if (placeholders.length !== 1) throw new LowbitError('E_UNSUPPORTED', `${a.path}: only single-input graphs are supported, found ${placeholders.length} Placeholder(s)`);
  const dims = placeholders[0]!.attr['shape']?.shape?.dim?.map((d) => Number(d.size)) ?? [];
  if (dims.length < 2 || dims.slice(1).some((d) => !(d > 0))) throw new LowbitError('E_FORMAT', `${a.path}: input '${placeholders[0]!.name}' needs a known shape (except the batch), got [${dims.join(', ')}]`);
  const g = new GraphImport(a, gnodes, { name: placeholders[0]!.name, shape: dims.slice(1) }, dims[0]! > 0 ? dims[0]! : -1);
  try {
    for (const n of gnodes) {
      if (PASSIVE.has(n.op)) continue;
      try {
        importNode(n, g);
      } catch (e) {
        if (e instanceof LowbitError) throw e;
        // a node whose inputs or attributes are not what its op has (too few inputs, a list where a
        // number belongs): name it rather than fail inside the op's importer
        throw new LowbitError('E_FORMAT', `${a.path}: node '${n.name}' (${n.op}) cannot be imported: ${(e as Error).message} (its ${dataInputs(n).length} input(s) or its attributes are not what a ${n.op} node has)`, { nodes: [n.name] });
      }
    }
    return assemble(a, gnodes, g);
  } finally {
    g.dispose();
  }
}

/** Imports one graph node: folds it when all its inputs are constants, else hands it to its op's importer. */
function importNode(n: GNode, g: GraphImport): void {
  const ins = dataInputs(n);
  const consts = ins.map((i) => g.constOf(i));
  const fold = FOLD[n.op];
  if (fold && consts.every((c) => c !== null)) {
    g.fold(n, tf.tidy(() => fold(n, consts as tf.Tensor[])));
    return;
  }
  if (n.op === 'Shape') {
    g.fold(n, shapeConst(g.batch, g.shapeOf(ins[0]!)));
    return;
  }
  const imp = importerFor.get(n.op);
  if (!imp) throw g.unsupported(n, `op '${n.op}' is only supported on constants (static shape arithmetic), and an input of this one is computed from the image`);
  imp.run(n, ins, g);
}

/** The network spec (outputs found, blocks detected) and its parameters as variables. */
function assemble(a: TfjsArtifacts, gnodes: GNode[], g: GraphImport): Network {
  const referenced = new Set(gnodes.flatMap((n) => dataInputs(n).map(clean)));
  // the outputs: the signature's, in its order (what stock predict returns), else the tensor-valued
  // nodes nothing consumes (constants folded at import are not outputs), in node order
  // (older converters put the signature in userDefinedMetadata, where stock tfjs also looks)
  type Signature = { outputs?: Record<string, { name?: string }> } | undefined;
  const sig = (a.json['signature'] ?? (a.json['userDefinedMetadata'] as { signature?: unknown } | undefined)?.signature) as Signature;
  const signed = Object.entries(sig?.outputs ?? {}).map(([key, o]) => clean(String(o.name ?? key)));
  const ends = signed.length ? signed : gnodes.filter((n) => (n.op === 'Identity' || !PASSIVE.has(n.op)) && !referenced.has(n.name) && g.constOf(n.name) === null).map((n) => n.name);
  if (ends.length === 0) throw new LowbitError('E_UNSUPPORTED', `${a.path}: the graph has no output`);
  const constant = ends.filter((e) => g.constOf(e) !== null);
  if (constant.length) throw new LowbitError('E_UNSUPPORTED', `${a.path}: output(s) ${constant.join(', ')} do not depend on the input (constants)`);
  const nodes = g.nodes;
  // with several outputs, each one but the graph's last node is passed on by an identity at the
  // end (a head at an earlier scale, a feature vector other heads also read), so that all outputs
  // are in the last block
  const lastNode = nodes[nodes.length - 1]?.name;
  const outs = ends.map((e) => {
    const v = g.v(e);
    return ends.length > 1 && v !== lastNode ? g.push({ op: 'identity', name: `${v}/output`, inputs: [v] }) : v;
  });
  const live = liveValues(nodes, outs);
  const dead = nodes.filter((n) => !live.has(n.name));
  if (dead.length) throw new LowbitError('E_UNSUPPORTED', `${a.path}: ${dead.length} node(s) no output depends on (${dead.slice(0, 3).map((n) => n.name).join(', ')}${dead.length > 3 ? ', …' : ''})`);
  if (new Set(outs).size !== outs.length) throw new LowbitError('E_UNSUPPORTED', `${a.path}: two outputs are the same tensor (${ends.join(', ')})`);
  // (no dead node means the last node is an output: IR nodes are in dependency order)
  const spec: NetworkSpec = { name: 'graph-model', inputShape: g.valueShape('input'), nodes, blocks: detectBlocks(nodes), ...(outs.length > 1 ? { outputs: outs } : {}) };
  checkNetworkSpec(spec, `${a.path} (imported)`);
  analyze(spec);
  // layer parameters must be finite (other constants may be ±∞); name the stored weight where there is one
  const stored = new Map<tf.Tensor, string>(Object.entries(a.weights).map(([k, t]) => [t, k]));
  for (const [node, ps] of Object.entries(g.params)) {
    for (const [p, t] of Object.entries(ps)) {
      if (!t) throw new LowbitError('E_FORMAT', `${a.path}: node '${node}' needs its ${p} as a constant, and that input is not a Const node in the graph`);
      const v = t.dtype === 'float32' ? t.dataSync() : null;
      const i = v ? v.findIndex((x) => !Number.isFinite(x)) : -1;
      if (i >= 0) throw new LowbitError('E_WEIGHTS', nonFinite(a.path, stored.get(t) ?? `${node}/${p}`, i));
    }
  }
  return importedNetwork(spec, (node, p) => g.params[node]?.[p] ?? undefined, a.path, () => true);
}
