import type * as tf from '@tensorflow/tfjs-core';
import { LowbitError } from '@lowbit/core';
import { analyze, type Network, type NodeInfo, type NodeSpec, type OpName, type Padding } from '@lowbit/nn';
import { outputChannelScales } from './channel-codes.js';
import { checkGridNames } from './grid-check.js';
import type { ExportOptions, LayerGrids, TfjsExport } from './export-types.js';
import { attr, GraphWriter, tensorShape } from './graph-def.js';
import { liveValues } from './live-nodes.js';
import { ManifestWriter } from './weights-manifest.js';

/** What an op emitter gets: the graph, its node's claimed name and input values, parameters, shapes. */
interface EmitContext {
  g: GraphWriter;
  /** The graph name of the node's output (already claimed). */
  name: string;
  /** Graph names of the node's inputs. */
  ins: string[];
  params: Record<string, tf.Tensor>;
  grid: LayerGrids[string] | undefined;
  info: NodeInfo;
  /** An activation fused into this layer (the only reader of its output). */
  act: 'Relu' | 'Relu6' | undefined;
  /** Per-output-channel scales when the kernel is stored as integer codes (see {@link outputChannelScales}). */
  scales: Float32Array | null;
}

type Emitter<S extends NodeSpec> = (n: S, c: EmitContext) => void;
type Emitters = { [K in OpName]: Emitter<Extract<NodeSpec, { op: K }>> };

const floats = (t: tf.Tensor) => t.dataSync() as Float32Array;
const nhwc = (h: number, w: number) => attr.ints([1, h, w, 1]);

/** Conv/pool window attributes; explicit padding becomes `EXPLICIT` + `explicit_paddings`. */
function windowAttrs(strides: [number, number], padding: Padding): Record<string, unknown> {
  const base = { strides: nhwc(...strides), data_format: attr.s('NHWC') };
  if (!Array.isArray(padding)) return { ...base, padding: attr.s(padding.toUpperCase()) };
  const [[t, b], [l, r]] = padding;
  return { ...base, padding: attr.s('EXPLICIT'), explicit_paddings: attr.ints([0, 0, t, b, l, r, 0, 0]) };
}

/**
 * A layer: its kernel (and bias) constants and the op — `fusedOp` with BiasAdd (and the activation)
 * fused in, or `plainOp` then a BiasAdd of its own where the layer keeps its bias separate
 * (imported that way: stock TF.js then computes what lowbit computes, to the bit).
 */
function emitLayer(
  n: NodeSpec & { useBias: boolean; separateBias?: boolean },
  c: EmitContext,
  fusedOp: string,
  plainOp: string,
  attrs: Record<string, unknown>,
  args: (kernel: string) => string[] = (k) => [c.ins[0]!, k],
): void {
  const kernel = c.params['kernel']!;
  if (c.scales) {
    // integer codes, then ·scale per output channel (float16), then + bias (`codeBias`)
    const k = c.g.constCodes(`${c.name}/kernel`, kernel.shape, floats(kernel), c.grid!, `${c.name}/scale`);
    const product = c.g.op(c.g.claim(`${c.name}/product`), plainOp, args(k), attrs);
    const sc = c.g.constHalf(`${c.name}/scale`, [c.scales.length], c.scales, 'per-channel scales of the integer-coded kernel');
    const scaled = c.g.op(n.useBias ? c.g.claim(`${c.name}/scaled`) : c.name, 'Mul', [product, sc]);
    if (n.useBias) c.g.op(c.name, 'BiasAdd', [scaled, c.g.constCodeBias(`${c.name}/bias`, c.params['bias']!.shape, floats(c.params['bias']!), 'bias of an integer-coded kernel')], { data_format: attr.s('NHWC') });
    return;
  }
  const k = c.g.constFloat(`${c.name}/kernel`, kernel.shape, floats(kernel), c.grid);
  if (!n.useBias) {
    c.g.op(c.name, plainOp, args(k), attrs);
    return;
  }
  const bias = c.params['bias']!;
  const b = c.g.constFloat(`${c.name}/bias`, bias.shape, floats(bias));
  if (n.separateBias) {
    const product = c.g.op(c.g.claim(`${c.name}/product`), plainOp, args(k), attrs);
    c.g.op(c.name, 'BiasAdd', [product, b], { data_format: attr.s('NHWC') });
    return;
  }
  c.g.op(c.name, fusedOp, [...args(k), b], { ...attrs, fused_ops: attr.strs(c.act ? ['BiasAdd', c.act] : ['BiasAdd']), num_args: attr.i(1) });
}

const unary = (op: string) => (_n: NodeSpec, c: EmitContext) => c.g.op(c.name, op, [c.ins[0]!]);
const pool = (op: string) => (n: Extract<NodeSpec, { op: 'avgPool' | 'maxPool' }>, c: EmitContext) =>
  c.g.op(c.name, op, [c.ins[0]!], { ksize: nhwc(...n.poolSize), ...windowAttrs(n.strides, n.padding) });
/** Flatten and reshape: a Reshape to `[-1, ...outShape]` (a target's −1 resolved from the inferred shape). */
const reshape = (_n: NodeSpec, c: EmitContext) => {
  const shape = c.g.constInt(`${c.name}/shape`, [c.info.outShape.length + 1], [-1, ...c.info.outShape]);
  c.g.op(c.name, 'Reshape', [c.ins[0]!, shape], { Tshape: attr.type('DT_INT32') });
};
const vec = (v: number | number[]) => (typeof v === 'number' ? { shape: [] as number[], values: Float32Array.of(v) } : { shape: [v.length], values: Float32Array.from(v) });

/**
 * Graph nodes of each op of the IR, in the forward's arithmetic (same ops, same order), so that
 * stock tfjs computes what lowbit computes. Typed over every op: a new op of the IR does not
 * compile until it has an export here.
 */
const EMIT: Emitters = {
  conv2d: (n, c) => {
    emitLayer(n, c, '_FusedConv2D', 'Conv2D', { ...windowAttrs(n.strides, n.padding), dilations: nhwc(1, 1) });
  },
  conv2dTranspose: (n, c) => {
    // Conv2DBackpropInput(input_sizes, filter, x): input_sizes is [batch of x, H, W, filters]
    const x = c.ins[0]!;
    const shape = c.g.op(c.g.claim(`${c.name}/shape`), 'Shape', [x], { out_type: attr.type('DT_INT32') });
    const at = (k: string, v: number) => c.g.constInt(`${c.name}/${k}`, [1], [v]);
    const batch = c.g.op(c.g.claim(`${c.name}/batch`), 'StridedSlice', [shape, at('begin', 0), at('end', 1), at('stride', 1)], { T: attr.type('DT_INT32'), Index: attr.type('DT_INT32') });
    const rest = c.g.constInt(`${c.name}/size`, [3], [...n.outputSize, n.filters]);
    const sizes = c.g.op(c.g.claim(`${c.name}/input_sizes`), 'ConcatV2', [batch, rest, c.g.constInt(`${c.name}/axis`, [], [0])], { T: attr.type('DT_INT32'), N: attr.i(2), Tidx: attr.type('DT_INT32') });
    // (no fused form: the bias is always a BiasAdd of its own)
    emitLayer({ ...n, separateBias: true }, c, 'Conv2DBackpropInput', 'Conv2DBackpropInput', { ...windowAttrs(n.strides, n.padding), dilations: nhwc(1, 1) }, (k) => [sizes, k, x]);
  },
  depthwiseConv2d: (n, c) => {
    emitLayer(n, c, 'FusedDepthwiseConv2dNative', 'DepthwiseConv2dNative', { ...windowAttrs(n.strides, n.padding), dilations: nhwc(1, 1) });
  },
  dense: (n, c) => {
    emitLayer(n, c, '_FusedMatMul', 'MatMul', { transpose_a: attr.b(false), transpose_b: attr.b(false) });
  },
  batchNorm: (n, c) => {
    const p = ['gamma', 'beta', 'movingMean', 'movingVariance'].map((k) => c.g.constFloat(`${c.name}/${k}`, c.params[k]!.shape, floats(c.params[k]!)));
    c.g.op(c.name, 'FusedBatchNormV3', [c.ins[0]!, ...p], { U: attr.type('DT_FLOAT'), epsilon: attr.f(n.epsilon), is_training: attr.b(false), data_format: attr.s('NHWC') });
  },
  relu: unary('Relu'),
  relu6: unary('Relu6'),
  sigmoid: unary('Sigmoid'),
  tanh: unary('Tanh'),
  prelu: (_n, c) => {
    const alpha = c.params['alpha']!;
    c.g.op(c.name, 'Prelu', [c.ins[0]!, c.g.constFloat(`${c.name}/alpha`, alpha.shape, floats(alpha))]);
  },
  clip: (n, c) => {
    const bound = (v: number, k: string) => c.g.constFloat(`${c.name}/${k}`, [], Float32Array.of(v), undefined, 'graph constant');
    if (n.min !== null && n.max !== null) c.g.op(c.name, 'ClipByValue', [c.ins[0]!, bound(n.min, 'min'), bound(n.max, 'max')]);
    else if (n.min !== null) c.g.op(c.name, 'Maximum', [c.ins[0]!, bound(n.min, 'min')]);
    else c.g.op(c.name, 'Minimum', [c.ins[0]!, bound(n.max!, 'max')]);
  },
  softmax: unary('Softmax'),
  identity: unary('Identity'),
  swish: (_n, c) => {
    const s = c.g.op(c.g.claim(`${c.name}/sigmoid`), 'Sigmoid', [c.ins[0]!]);
    c.g.op(c.name, 'Mul', [c.ins[0]!, s]);
  },
  hardSwish: (_n, c) => {
    const x = c.ins[0]!;
    const three = c.g.constFloat(`${c.name}/three`, [], Float32Array.of(3), undefined, 'graph constant');
    const six = c.g.constFloat(`${c.name}/six`, [], Float32Array.of(6), undefined, 'graph constant');
    const a = c.g.op(c.g.claim(`${c.name}/add`), 'AddV2', [x, three]);
    const r = c.g.op(c.g.claim(`${c.name}/relu6`), 'Relu6', [a]);
    const d = c.g.op(c.g.claim(`${c.name}/div`), 'RealDiv', [r, six]);
    c.g.op(c.name, 'Mul', [x, d]);
  },
  add: (_n, c) => (c.ins.length === 2 ? c.g.op(c.name, 'AddV2', c.ins) : c.g.op(c.name, 'AddN', c.ins, { N: attr.i(c.ins.length) })),
  mul: (_n, c) => c.g.op(c.name, 'Mul', c.ins),
  sub: (_n, c) => c.g.op(c.name, 'Sub', c.ins),
  div: (_n, c) => c.g.op(c.name, 'RealDiv', c.ins),
  abs: unary('Abs'),
  sqrt: unary('Sqrt'),
  rsqrt: unary('Rsqrt'),
  transpose: (n, c) => {
    const perm = c.g.constInt(`${c.name}/perm`, [n.perm.length + 1], [0, ...n.perm.map((a) => a + 1)]);
    c.g.op(c.name, 'Transpose', [c.ins[0]!, perm], { Tperm: attr.type('DT_INT32') });
  },
  leakyRelu: (n, c) => c.g.op(c.name, 'LeakyRelu', [c.ins[0]!], { alpha: attr.f(n.alpha) }),
  pad: (n, c) => {
    const p = c.g.constInt(`${c.name}/paddings`, [n.paddings.length + 1, 2], [0, 0, ...n.paddings.flat()]);
    const v = c.g.constFloat(`${c.name}/constant_values`, [], Float32Array.of(n.value), undefined, 'graph constant');
    c.g.op(c.name, 'PadV2', [c.ins[0]!, p, v], { Tpaddings: attr.type('DT_INT32') });
  },
  sum: (n, c) => {
    const rank = c.info.inShapes[0]!.length;
    const axes = c.g.constInt(`${c.name}/axes`, [n.axes.length], n.axes.map((a) => (a < 0 ? rank + a : a) + 1));
    c.g.op(c.name, 'Sum', [c.ins[0]!, axes], { Tidx: attr.type('DT_INT32'), keep_dims: attr.b(n.keepDims) });
  },
  slice: (n, c) => {
    // the whole batch (begin_mask / end_mask bit 0), then the box; squeezed axes are shrink_axis_mask bits
    const k = n.begin.length + 1;
    const b = c.g.constInt(`${c.name}/begin`, [k], [0, ...n.begin]);
    const e = c.g.constInt(`${c.name}/end`, [k], [0, ...n.begin.map((v, i) => v + n.size[i]!)]);
    const st = c.g.constInt(`${c.name}/strides`, [k], new Array<number>(k).fill(1));
    const shrink = n.squeeze.reduce((m, a) => m | (1 << (a + 1)), 0);
    c.g.op(c.name, 'StridedSlice', [c.ins[0]!, b, e, st], { Index: attr.type('DT_INT32'), begin_mask: attr.i(1), end_mask: attr.i(1), ellipsis_mask: attr.i(0), new_axis_mask: attr.i(0), shrink_axis_mask: attr.i(shrink) });
  },
  globalAvgPool: (_n, c) => {
    const axes = c.g.constInt(`${c.name}/axes`, [2], [1, 2]);
    c.g.op(c.name, 'Mean', [c.ins[0]!, axes], { Tidx: attr.type('DT_INT32'), keep_dims: attr.b(false) });
  },
  avgPool: pool('AvgPool'),
  maxPool: pool('MaxPool'),
  flatten: reshape,
  reshape,
  zeroPad: (n, c) => {
    const [[t, b], [l, r]] = n.padding;
    const [c0, c1] = n.channels ?? [0, 0];
    const p = c.g.constInt(`${c.name}/paddings`, [4, 2], [0, 0, t, b, l, r, c0, c1]);
    c.g.op(c.name, 'Pad', [c.ins[0]!, p], { Tpaddings: attr.type('DT_INT32') });
  },
  resize: (n, c) => {
    const size = c.g.constInt(`${c.name}/size`, [2], n.size);
    c.g.op(c.name, n.method === 'bilinear' ? 'ResizeBilinear' : 'ResizeNearestNeighbor', [c.ins[0]!, size], { align_corners: attr.b(n.alignCorners), half_pixel_centers: attr.b(n.halfPixelCenters) });
  },
  depthToSpace: (n, c) => c.g.op(c.name, 'DepthToSpace', [c.ins[0]!], { block_size: attr.i(n.blockSize), data_format: attr.s('NHWC') }),
  concat: (n, c) => {
    const rank = c.info.outShape.length + 1;
    const axis = c.g.constInt(`${c.name}/axis`, [], [n.axis < 0 ? rank + n.axis : n.axis + 1]);
    c.g.op(c.name, 'ConcatV2', [...c.ins, axis], { N: attr.i(c.ins.length), Tidx: attr.type('DT_INT32') });
  },
  scale: (n, c) => {
    // x·scale + offset; a multiplication by 1 or an addition of 0 is exact and left out
    const mul = n.scale !== 1;
    const add = n.offset !== 0;
    let x = c.ins[0]!;
    if (mul) {
      const s = vec(n.scale);
      x = c.g.op(add ? c.g.claim(`${c.name}/mul`) : c.name, 'Mul', [x, c.g.constFloat(`${c.name}/scale`, s.shape, s.values, undefined, 'graph constant')]);
    }
    if (add) {
      const o = vec(n.offset);
      c.g.op(c.name, 'AddV2', [x, c.g.constFloat(`${c.name}/offset`, o.shape, o.values, undefined, 'graph constant')]);
    }
    if (!mul && !add) c.g.op(c.name, 'Identity', [x]);
  },
};

/** Nodes the outputs depend on, in node order. */
function liveNodes(net: Network): NodeInfo[] {
  const info = analyze(net);
  const live = liveValues(net.nodes, info.outputs);
  return info.order.filter((n) => live.has(n.spec.name));
}

/**
 * A TF.js GraphModel (`format: 'graph-model'`, one weight shard) that unmodified
 * `tf.loadGraphModel` loads, laid out as the TF.js converter writes one: a Placeholder input
 * (NHWC, batch −1), a Const node per weight, and per IR op the converter's ops — conv2d →
 * `_FusedConv2D` (BiasAdd and a following ReLU/ReLU6 fused) or `Conv2D`, conv2dTranspose →
 * `Conv2DBackpropInput` (+ `BiasAdd`), depthwiseConv2d →
 * `FusedDepthwiseConv2dNative` / `DepthwiseConv2dNative`, dense → `_FusedMatMul` / `MatMul`,
 * batchNorm → `FusedBatchNormV3`, add → `AddV2` / `AddN`, globalAvgPool → `Mean` over [1, 2],
 * flatten/reshape → `Reshape`, zeroPad → `Pad`, concat → `ConcatV2`, scale → `Mul`/`AddV2`,
 * swish → `Sigmoid`·x, hardSwish → x·`Relu6`(x + 3)/6, and `Relu`, `Relu6`, `Sigmoid`, `Softmax`,
 * `AvgPool`, `MaxPool`, `Identity`; a `signature` names the input and output. Weights are
 * stored as {@link exportLayersModel} stores them (per-tensor kernels as uint8, exact). Nodes the
 * output does not depend on are left out. An op with no export fails, listing every such node,
 * before anything is built.
 */
export function exportGraphModel(net: Network, o: ExportOptions = {}): TfjsExport {
  checkGridNames(net.params, o.grids);
  const bad = net.nodes.filter((n) => !Object.hasOwn(EMIT, n.op));
  if (bad.length) {
    throw new LowbitError('E_EXPORT', `cannot export ${bad.length} node(s) of '${net.name}' to a GraphModel:\n${bad.map((n) => `  - '${n.name}' (${n.op}): no GraphModel form for op '${n.op}'`).join('\n')}`, {
      nodes: bad.map((n) => n.name),
    });
  }
  const nodes = liveNodes(net);
  const w = new ManifestWriter(o.perChannel, o.codeBias);
  const g = new GraphWriter(w);
  const input = g.claim('input');
  g.placeholder(input, [-1, ...net.inputShape]);
  // node names first, so that derived names (`…/kernel`) never take one
  const value = new Map<string, string>([['input', input]]);
  for (const n of nodes) value.set(n.spec.name, g.claim(n.spec.name));
  const readers = new Map<string, NodeInfo[]>();
  for (const n of nodes) for (const i of n.spec.inputs) readers.set(i, [...(readers.get(i) ?? []), n]);
  const fusedInto = new Set<string>();
  for (const n of nodes) {
    if (fusedInto.has(n.spec.name)) continue;
    const r = readers.get(n.spec.name) ?? [];
    const kernel = net.params[n.spec.name]?.['kernel'];
    const scales = kernel ? outputChannelScales(n.spec, kernel.shape, o.grids?.[n.spec.name], o.perChannel) : null;
    const fusable = (n.spec.op === 'conv2d' || n.spec.op === 'depthwiseConv2d' || n.spec.op === 'dense') && n.spec.useBias && !n.spec.separateBias && !scales;
    const next = r.length === 1 && (r[0]!.spec.op === 'relu' || r[0]!.spec.op === 'relu6') ? r[0]! : undefined;
    const act = fusable && next ? (next.spec.op === 'relu' ? 'Relu' : 'Relu6') : undefined;
    const ctx: EmitContext = {
      g,
      name: value.get(n.spec.name)!,
      ins: n.spec.inputs.map((i) => value.get(i)!),
      params: net.params[n.spec.name] ?? {},
      grid: o.grids?.[n.spec.name],
      info: n,
      act,
      scales,
    };
    w.layer = n.spec.name;
    (EMIT[n.spec.op] as Emitter<NodeSpec>)(n.spec, ctx);
    if (act) {
      fusedInto.add(next!.spec.name);
      value.set(next!.spec.name, ctx.name);
    }
  }
  const { specs, weightData, weights } = w.finish();
  // one signature output per network output (`output` for one, `output_0`, `output_1`… for several)
  const info = analyze(net);
  const outputs = Object.fromEntries(
    info.outputs.map((o, i) => [
      info.outputs.length === 1 ? 'output' : `output_${i}`,
      { name: `${value.get(o)!}:0`, dtype: 'DT_FLOAT', tensorShape: tensorShape([-1, ...info.nodes.get(o)!.outShape]) },
    ]),
  );
  const modelJson = {
    format: 'graph-model',
    generatedBy: 'lowbit',
    convertedBy: null,
    signature: {
      inputs: { input: { name: `${input}:0`, dtype: 'DT_FLOAT', tensorShape: tensorShape([-1, ...net.inputShape]) } },
      outputs,
    },
    // lowbit, not TensorFlow, produced the graph: no GraphDef version is claimed (TF.js reads none)
    modelTopology: { node: g.nodes, library: {}, versions: {} },
    weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: specs }],
  };
  return { modelJson, weightData, weights };
}
