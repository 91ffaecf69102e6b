import * as tf from '@tensorflow/tfjs-core';
import { LowbitError } from '@lowbit/core';
import { analyze, type Network, type NodeParams, type NodeSpec, type Padding, paramDefs } from '@lowbit/nn';
import { detectBlocks } from './blocks.js';
import type { TfjsArtifacts } from './read-artifacts.js';

interface GNode {
  name: string;
  op: string;
  /** Absent on Const and Placeholder nodes in the converter's output. */
  input?: string[];
  attr: Record<string, { s?: string; i?: string; f?: number; b?: boolean; list?: { i?: string[]; s?: string[] }; shape?: { dim?: Array<{ size: string }> } }>;
}

const SUPPORTED = new Set([
  'Placeholder', 'Const', 'Identity', 'Conv2D', '_FusedConv2D', 'DepthwiseConv2dNative', 'FusedDepthwiseConv2dNative', 'MatMul', '_FusedMatMul',
  'BiasAdd', 'FusedBatchNorm', 'FusedBatchNormV3', 'Relu', 'Relu6', 'AddV2', 'Add', 'AddN', 'Mul', 'Mean', 'AvgPool', 'MaxPool', 'Pad', 'Reshape', 'Squeeze', 'ConcatV2', 'Softmax', 'Sigmoid', 'RealDiv', 'NoOp',
]);
const FUSED_OK = new Set(['BiasAdd', 'Relu', 'Relu6', 'FusedBatchNorm']);

const str = (a: GNode['attr'][string] | undefined): string | undefined => (a?.s !== undefined ? atob(a.s) : undefined);
const ints = (a: GNode['attr'][string] | undefined): number[] => (a?.list?.i ?? []).map(Number);
const strs = (a: GNode['attr'][string] | undefined): string[] => (a?.list?.s ?? []).map((s) => atob(s));
const clean = (n: string) => n.replace(/^\^/, '').replace(/:0$/, '');

/** Why a graph node cannot be imported, or null. */
function whyNot(n: GNode): string | null {
  if (!SUPPORTED.has(n.op)) return `op '${n.op}' is not supported`;
  const df = str(n.attr['data_format']);
  if (df !== undefined && df !== 'NHWC') return `data_format ${df} (only NHWC)`;
  if (str(n.attr['padding']) === 'EXPLICIT') {
    if (!/Conv2D|Conv2dNative/.test(n.op)) return 'explicit padding (only on convolutions)';
    const p = ints(n.attr['explicit_paddings']);
    if (p.length !== 8 || p[0] || p[1] || p[6] || p[7]) return `explicit_paddings [${p.join(', ')}] (only spatial)`;
  }
  const dil = ints(n.attr['dilations']);
  if (dil.length > 0 && dil.some((d) => d !== 1)) return `dilations [${dil.join(', ')}] (only 1)`;
  if (n.op.startsWith('_Fused') || n.op === 'FusedDepthwiseConv2dNative') {
    const bad = strs(n.attr['fused_ops']).filter((f) => !FUSED_OK.has(f));
    if (bad.length) return `fused ops ${bad.join(', ')} are not supported`;
  }
  if (n.op === 'MatMul' || n.op === '_FusedMatMul') {
    if (n.attr['transpose_a']?.b || n.attr['transpose_b']?.b) return 'transposed MatMul operands';
  }
  return null;
}

/**
 * Imports a TF.js GraphModel (the CNN op subset the converter emits) into the lowbit IR. Constant
 * weights are attached to the layers that use them, BiasAdd after a bias-free layer becomes that
 * layer's bias, Mean over the spatial axes becomes global average pooling, and constant Mul/Add
 * become rescaling. Unsupported ops are all listed before any work.
 */
export function importGraphModel(a: TfjsArtifacts): Network {
  const topo = a.json['modelTopology'] as { node?: GNode[] };
  const gnodes = (topo.node ?? []).map((n) => ({ ...n, input: n.input ?? [], attr: n.attr ?? {} }));
  const problems = gnodes.map((n) => [n, whyNot(n)] as const).filter(([, w]) => w !== null);
  if (problems.length) {
    throw new LowbitError('E_UNSUPPORTED', `${a.path}: cannot import ${problems.length} node(s):\n${problems.map(([n, w]) => `  - '${n.name}' (${n.op}): ${w}`).join('\n')}`, {
      nodes: problems.map(([n]) => n.name),
    });
  }
  const byName = new Map(gnodes.map((n) => [n.name, n]));
  // follow Identity chains
  const resolve = (name: string): string => {
    let cur = clean(name);
    while (byName.get(cur)?.op === 'Identity') cur = clean(byName.get(cur)!.input[0]!);
    return cur;
  };
  const constOf = (name: string): tf.Tensor | null => {
    const r = resolve(name);
    if (byName.get(r)?.op !== 'Const') return null;
    const t = a.weights[r];
    if (!t) throw new LowbitError('E_WEIGHTS', `${a.path}: constant '${r}' has no weights in the manifest`);
    return t;
  };
  const placeholders = gnodes.filter((n) => n.op === 'Placeholder');
  if (placeholders.length !== 1) throw new LowbitError('E_UNSUPPORTED', `${a.path}: only single-input graphs are supported, found ${placeholders.length} Placeholder(s)`);
  const dims = placeholders[0]!.attr['shape']?.shape?.dim?.map((d) => Number(d.size)) ?? [];
  if (dims.length < 2 || dims.slice(1).some((d) => !(d > 0))) throw new LowbitError('E_FORMAT', `${a.path}: input '${placeholders[0]!.name}' needs a known shape (except the batch), got [${dims.join(', ')}]`);
  const inputShape = dims.slice(1);
  const value = new Map<string, string>([[placeholders[0]!.name, 'input']]);
  const nodes: NodeSpec[] = [];
  const params: Record<string, Record<string, tf.Tensor>> = {};
  // readers of each value (Identity chains resolved: for merging a BiasAdd into its layer), and
  // names referenced at all (for finding the output)
  const consumers = new Map<string, number>();
  const referenced = new Set<string>();
  for (const n of gnodes) {
    for (const i of n.input) {
      if (i.startsWith('^')) continue;
      consumers.set(resolve(i), (consumers.get(resolve(i)) ?? 0) + 1);
      referenced.add(clean(i));
    }
  }
  const v = (i: string): string => {
    const r = resolve(i);
    const out = value.get(r);
    if (!out) throw new LowbitError('E_FORMAT', `${a.path}: '${r}' is used before it is defined (or is a constant where a tensor is expected)`);
    return out;
  };
  const push = (spec: NodeSpec) => {
    nodes.push(spec);
    return spec.name;
  };
  const fusedTail = (n: GNode, base: string): string => {
    let out = base;
    for (const f of strs(n.attr['fused_ops'])) {
      if (f === 'Relu') out = push({ op: 'relu', name: `${n.name}/relu`, inputs: [out] });
      if (f === 'Relu6') out = push({ op: 'relu6', name: `${n.name}/relu6`, inputs: [out] });
    }
    return out;
  };
  const scalarConst = (name: string): number | null => {
    const c = constOf(name);
    return c && c.size === 1 ? c.dataSync()[0]! : null;
  };
  /** If `y` is sigmoid(x) or relu6(x + 3)/6 of the same `x`: the activation and the graph nodes of `y`'s chain (last first). */
  const activationProduct = (x: string, y: string): { op: 'swish' | 'hardSwish'; x: string; chain: string[] } | null => {
    const rx = resolve(x);
    const g = byName.get(resolve(y));
    if (!g) return null;
    const arg = (k: GNode, i: number) => resolve((k.input ?? []).filter((s) => !s.startsWith('^'))[i] ?? '');
    if (g.op === 'Sigmoid' && arg(g, 0) === rx) return { op: 'swish', x, chain: [g.name] };
    if (g.op !== 'RealDiv' || scalarConst(g.input?.[1] ?? '') !== 6) return null;
    const r6 = byName.get(arg(g, 0));
    if (r6?.op !== 'Relu6') return null;
    const add = byName.get(arg(r6, 0));
    if (!add || (add.op !== 'AddV2' && add.op !== 'Add')) return null;
    const [a0, a1] = [arg(add, 0), arg(add, 1)];
    const ok = (a0 === rx && scalarConst(add.input?.[1] ?? '') === 3) || (a1 === rx && scalarConst(add.input?.[0] ?? '') === 3);
    return ok ? { op: 'hardSwish', x, chain: [g.name, r6.name, add.name] } : null;
  };
  /** Removes an imported node (by its graph name) that nothing else reads. */
  const dropNode = (graphName: string) => {
    const name = value.get(graphName);
    const i = nodes.findIndex((s) => s.name === name);
    if (i >= 0 && !nodes.some((s) => s.inputs.includes(name!))) nodes.splice(i, 1);
  };
  const pad4 = (n: GNode): 'same' | 'valid' => (str(n.attr['padding']) === 'SAME' ? 'same' : 'valid');
  const convPad = (n: GNode): Padding => {
    if (str(n.attr['padding']) !== 'EXPLICIT') return pad4(n);
    const p = ints(n.attr['explicit_paddings']);
    return [[p[2]!, p[3]!], [p[4]!, p[5]!]];
  };
  const strides2 = (n: GNode): [number, number] => {
    const s = ints(n.attr['strides']);
    return [s[1] ?? 1, s[2] ?? 1];
  };
  for (const n of gnodes) {
    if (['Placeholder', 'Const', 'Identity', 'NoOp'].includes(n.op)) continue;
    const ins = n.input.filter((i) => !i.startsWith('^'));
    switch (n.op) {
      case 'Conv2D':
      case '_FusedConv2D':
      case 'DepthwiseConv2dNative':
      case 'FusedDepthwiseConv2dNative': {
        const w = constOf(ins[1]!);
        if (!w) throw new LowbitError('E_UNSUPPORTED', `${a.path}: '${n.name}': the filter must be a constant`);
        const fused = strs(n.attr['fused_ops']);
        const hasBias = fused.includes('BiasAdd');
        const depthwise = n.op.includes('Depthwise');
        push(
          depthwise
            ? { op: 'depthwiseConv2d', name: n.name, inputs: [v(ins[0]!)], kernelSize: [w.shape[0]!, w.shape[1]!], strides: strides2(n), padding: convPad(n), depthMultiplier: w.shape[3]!, useBias: hasBias }
            : { op: 'conv2d', name: n.name, inputs: [v(ins[0]!)], filters: w.shape[3]!, kernelSize: [w.shape[0]!, w.shape[1]!], strides: strides2(n), padding: convPad(n), useBias: hasBias },
        );
        params[n.name] = { kernel: w, ...(hasBias ? { bias: constOf(ins[2]!)! } : {}) };
        let out = n.name;
        if (fused.includes('FusedBatchNorm')) {
          const [sc, of, mn, vr] = ins.slice(2, 6).map((i) => constOf(i)!);
          out = push({ op: 'batchNorm', name: `${n.name}/bn`, inputs: [out], epsilon: n.attr['epsilon']?.f ?? 1e-3, momentum: 0.99 });
          params[`${n.name}/bn`] = { gamma: sc!, beta: of!, movingMean: mn!, movingVariance: vr! };
        }
        value.set(n.name, fusedTail(n, out));
        break;
      }
      case 'MatMul':
      case '_FusedMatMul': {
        const w = constOf(ins[1]!);
        if (!w) throw new LowbitError('E_UNSUPPORTED', `${a.path}: '${n.name}': the weight matrix must be a constant`);
        const hasBias = strs(n.attr['fused_ops']).includes('BiasAdd');
        push({ op: 'dense', name: n.name, inputs: [v(ins[0]!)], units: w.shape[1]!, useBias: hasBias });
        params[n.name] = { kernel: w, ...(hasBias ? { bias: constOf(ins[2]!)! } : {}) };
        value.set(n.name, fusedTail(n, n.name));
        break;
      }
      case 'BiasAdd':
      case 'AddV2':
      case 'Add': {
        const c0 = constOf(ins[0]!);
        const c1 = constOf(ins[1]!);
        if (!c0 && !c1) {
          value.set(n.name, push({ op: 'add', name: n.name, inputs: [v(ins[0]!), v(ins[1]!)] }));
          break;
        }
        const x = c1 ? ins[0]! : ins[1]!;
        const c = (c1 ?? c0)!;
        const src = nodes.find((s) => s.name === v(x));
        // a bias after a bias-free layer that nothing else reads becomes the layer's bias
        if (src && (src.op === 'conv2d' || src.op === 'depthwiseConv2d' || src.op === 'dense') && !src.useBias && consumers.get(resolve(x)) === 1 && c.rank === 1) {
          src.useBias = true;
          params[src.name]!['bias'] = c;
          value.set(n.name, src.name);
          break;
        }
        const off = c.rank === 0 ? c.dataSync()[0]! : Array.from(c.dataSync());
        value.set(n.name, push({ op: 'scale', name: n.name, inputs: [v(x)], scale: 1, offset: off }));
        break;
      }
      case 'AddN':
        value.set(n.name, push(ins.length === 1 ? { op: 'identity', name: n.name, inputs: [v(ins[0]!)] } : { op: 'add', name: n.name, inputs: ins.map(v) }));
        break;
      case 'Mul': {
        const c0 = constOf(ins[0]!);
        const c1 = constOf(ins[1]!);
        const c = c1 ?? c0;
        if (!c) {
          // x·sigmoid(x) is swish, x·relu6(x + 3)/6 is hard-swish (the forms TF and lowbit's GraphModel export write)
          const act = activationProduct(ins[0]!, ins[1]!) ?? activationProduct(ins[1]!, ins[0]!);
          if (!act) throw new LowbitError('E_UNSUPPORTED', `${a.path}: '${n.name}': Mul of two tensors is only supported as swish x·sigmoid(x) or hard-swish x·relu6(x + 3)/6`);
          // the sigmoid / add-relu6-div chain was imported node by node; drop it where only this product reads it
          for (const dead of act.chain) if (consumers.get(dead) === 1) dropNode(dead);
          value.set(n.name, push({ op: act.op, name: n.name, inputs: [v(act.x)] }));
          break;
        }
        const x = c1 ? ins[0]! : ins[1]!;
        value.set(n.name, push({ op: 'scale', name: n.name, inputs: [v(x)], scale: c.rank === 0 ? c.dataSync()[0]! : Array.from(c.dataSync()), offset: 0 }));
        break;
      }
      case 'RealDiv': {
        const c = constOf(ins[1]!);
        if (c?.rank !== 0) throw new LowbitError('E_UNSUPPORTED', `${a.path}: '${n.name}': RealDiv is only supported by a scalar constant`);
        value.set(n.name, push({ op: 'scale', name: n.name, inputs: [v(ins[0]!)], scale: 1 / c.dataSync()[0]!, offset: 0 }));
        break;
      }
      case 'FusedBatchNorm':
      case 'FusedBatchNormV3': {
        const [sc, of, mn, vr] = ins.slice(1, 5).map((i) => constOf(i)!);
        value.set(n.name, push({ op: 'batchNorm', name: n.name, inputs: [v(ins[0]!)], epsilon: n.attr['epsilon']?.f ?? 1e-3, momentum: 0.99 }));
        params[n.name] = { gamma: sc!, beta: of!, movingMean: mn!, movingVariance: vr! };
        break;
      }
      case 'Relu':
      case 'Relu6':
      case 'Softmax':
      case 'Sigmoid':
        value.set(n.name, push({ op: ({ Relu: 'relu', Relu6: 'relu6', Softmax: 'softmax', Sigmoid: 'sigmoid' } as const)[n.op], name: n.name, inputs: [v(ins[0]!)] }));
        break;
      case 'Mean': {
        const axes = Array.from(constOf(ins[1]!)?.dataSync() ?? []).sort();
        if (axes.join() !== '1,2' || n.attr['keep_dims']?.b) throw new LowbitError('E_UNSUPPORTED', `${a.path}: '${n.name}': only Mean over axes [1, 2] without keep_dims (global average pooling) is supported`);
        value.set(n.name, push({ op: 'globalAvgPool', name: n.name, inputs: [v(ins[0]!)] }));
        break;
      }
      case 'AvgPool':
      case 'MaxPool': {
        const k = ints(n.attr['ksize']);
        value.set(n.name, push({ op: n.op === 'AvgPool' ? 'avgPool' : 'maxPool', name: n.name, inputs: [v(ins[0]!)], poolSize: [k[1]!, k[2]!], strides: strides2(n), padding: pad4(n) }));
        break;
      }
      case 'Pad': {
        const p = Array.from(constOf(ins[1]!)!.dataSync());
        if (p[0] || p[1] || p[6] || p[7]) throw new LowbitError('E_UNSUPPORTED', `${a.path}: '${n.name}': only spatial zero padding is supported`);
        value.set(n.name, push({ op: 'zeroPad', name: n.name, inputs: [v(ins[0]!)], padding: [[p[2]!, p[3]!], [p[4]!, p[5]!]] }));
        break;
      }
      case 'Reshape': {
        const shape = Array.from(constOf(ins[1]!)!.dataSync());
        value.set(n.name, push({ op: 'reshape', name: n.name, inputs: [v(ins[0]!)], targetShape: shape.slice(1) }));
        break;
      }
      case 'Squeeze': {
        const sq = ints(n.attr['squeeze_dims']);
        if (sq.sort().join() !== '1,2') throw new LowbitError('E_UNSUPPORTED', `${a.path}: '${n.name}': only Squeeze of axes [1, 2] is supported`);
        value.set(n.name, push({ op: 'reshape', name: n.name, inputs: [v(ins[0]!)], targetShape: [-1] }));
        break;
      }
      case 'ConcatV2': {
        const axis = constOf(ins[ins.length - 1]!)!.dataSync()[0]!;
        value.set(n.name, push({ op: 'concat', name: n.name, inputs: ins.slice(0, -1).map(v), axis: axis < 0 ? axis : axis - 1 }));
        break;
      }
    }
  }
  // the output: the last tensor-valued node nothing consumes
  const outputs = gnodes.filter((n) => !['Const', 'NoOp', 'Placeholder'].includes(n.op) && !referenced.has(n.name));
  if (outputs.length !== 1) throw new LowbitError('E_UNSUPPORTED', `${a.path}: only single-output graphs are supported, found ${outputs.length} outputs (${outputs.map((o) => o.name).join(', ')})`);
  const out = value.get(resolve(outputs[0]!.name))!;
  if (nodes[nodes.length - 1]!.name !== out) throw new LowbitError('E_UNSUPPORTED', `${a.path}: the output must come last in the graph's node order`);
  const spec = { name: 'graph-model', inputShape, nodes, blocks: detectBlocks(nodes) };
  analyze(spec);
  const net: Network = { ...spec, params: {} };
  for (const [node, pdefs] of Object.entries(paramDefs(spec))) {
    const ps: NodeParams = {};
    for (const [p, def] of Object.entries(pdefs)) {
      const t = params[node]?.[p];
      if (!t) throw new LowbitError('E_WEIGHTS', `${a.path}: no weight for '${node}/${p}'`);
      if (t.size !== def.shape.reduce((x, y) => x * y, 1)) throw new LowbitError('E_WEIGHTS', `${a.path}: weight for '${node}/${p}' has shape [${t.shape.join(', ')}], the layer needs [${def.shape.join(', ')}]`);
      ps[p] = tf.tidy(() => tf.variable(tf.reshape(tf.cast(t, 'float32'), def.shape), def.trainable));
    }
    net.params[node] = ps;
  }
  return net;
}
