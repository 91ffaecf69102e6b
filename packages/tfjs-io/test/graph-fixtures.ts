import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '@lowbit/core';

type Attr = Record<string, unknown>;
const s = (v: string) => ({ s: btoa(v) });
const ilist = (v: number[]) => ({ list: { i: v.map(String) } });
const slist = (v: string[]) => ({ list: { s: v.map((x) => btoa(x)) } });
const T = { type: 'DT_FLOAT' };

/** A small GraphModel writer: nodes plus constants, as the TF.js converter lays them out. */
export class GraphBuilder {
  nodes: Array<{ name: string; op: string; input: string[]; attr: Attr }> = [];
  weights: Array<{ name: string; shape: number[]; dtype: 'float32' | 'int32'; data: number[] }> = [];
  private rng = new Rng(11);
  placeholder(name: string, shape: number[]): string {
    this.nodes.push({ name, op: 'Placeholder', input: [], attr: { dtype: T, shape: { shape: { dim: shape.map((d) => ({ size: String(d) })) } } } });
    return name;
  }
  const(name: string, shape: number[], data?: number[], dtype: 'float32' | 'int32' = 'float32'): string {
    const n = shape.reduce((a, b) => a * b, 1);
    const values = data ?? Array.from({ length: n }, () => this.rng.normal() * 0.3);
    this.nodes.push({ name, op: 'Const', input: [], attr: { dtype: { type: dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT' }, value: { tensor: { dtype: dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT', tensorShape: { dim: shape.map((d) => ({ size: String(d) })) } } } } });
    this.weights.push({ name, shape, dtype, data: values });
    return name;
  }
  op(name: string, op: string, input: string[], attr: Attr = {}): string {
    this.nodes.push({ name, op, input, attr: { T, ...attr } });
    return name;
  }
  conv(name: string, x: string, w: string, o: { strides?: number; padding?: string; fused?: string[]; bias?: string; depthwise?: boolean }): string {
    const fused = o.fused ?? [];
    const op = o.depthwise ? (fused.length ? 'FusedDepthwiseConv2dNative' : 'DepthwiseConv2dNative') : fused.length ? '_FusedConv2D' : 'Conv2D';
    const st = o.strides ?? 1;
    return this.op(name, op, [x, w, ...(o.bias ? [o.bias] : [])], {
      strides: ilist([1, st, st, 1]),
      padding: s(o.padding ?? 'SAME'),
      data_format: s('NHWC'),
      dilations: ilist([1, 1, 1, 1]),
      ...(fused.length ? { fused_ops: slist(fused), num_args: { i: String(o.bias ? 1 : 0) }, epsilon: { f: 0 } } : {}),
    });
  }
  /** Signature outputs (key → node name), as the converter writes them for a model with several outputs. */
  outputs?: Record<string, string>;
  write(dir: string): string {
    mkdirSync(dir, { recursive: true });
    const bytes: number[] = [];
    const buf = Buffer.alloc(this.weights.reduce((a, w) => a + 4 * w.data.length, 0));
    let off = 0;
    for (const w of this.weights) {
      for (const v of w.data) {
        if (w.dtype === 'int32') buf.writeInt32LE(v, off);
        else buf.writeFloatLE(v, off);
        off += 4;
      }
    }
    void bytes;
    writeFileSync(join(dir, 'group1-shard1of1.bin'), buf);
    const manifest = [{ paths: ['group1-shard1of1.bin'], weights: this.weights.map((w) => ({ name: w.name, shape: w.shape, dtype: w.dtype })) }];
    writeFileSync(join(dir, 'model.json'), JSON.stringify({ format: 'graph-model', generatedBy: 'test', convertedBy: 'hand', modelTopology: { node: this.nodes, library: {}, versions: { producer: 1 } }, weightsManifest: manifest, ...(this.outputs ? { signature: { outputs: Object.fromEntries(Object.entries(this.outputs).map(([k, n]) => [k, { name: `${n}:0`, dtype: 'DT_FLOAT' }])) } } : {}) }));
    return join(dir, 'model.json');
  }
}

/** Converter-style CNN: fused conv, depthwise, separate BiasAdd and BN, residual add, constant Mul/Add, concat, pad, pools, Mean, Reshape, MatMul. */
export function cnnGraph(): GraphBuilder {
  const g = new GraphBuilder();
  const x = g.placeholder('x', [-1, 8, 8, 2]);
  const c1 = g.conv('conv1', x, g.const('conv1/w', [3, 3, 2, 4]), { fused: ['BiasAdd', 'Relu'], bias: g.const('conv1/b', [4]) });
  const dw = g.conv('dw', c1, g.const('dw/w', [3, 3, 4, 1]), { strides: 2, depthwise: true, fused: ['BiasAdd', 'Relu6'], bias: g.const('dw/b', [4]) });
  const pw = g.conv('pw', dw, g.const('pw/w', [1, 1, 4, 6]), { padding: 'VALID' });
  const pwb = g.op('pw/bias', 'BiasAdd', [pw, g.const('pw/b', [6])], { data_format: s('NHWC') });
  const bn = g.op('bn', 'FusedBatchNormV3', [pwb, g.const('bn/s', [6], [1.2, 0.8, 1, 1.1, 0.9, 1]), g.const('bn/o', [6]), g.const('bn/m', [6]), g.const('bn/v', [6], [1, 2, 0.5, 1.5, 1, 0.7])], {
    epsilon: { f: 0.001 },
    is_training: { b: false },
    data_format: s('NHWC'),
  });
  const c2 = g.conv('conv2', dw, g.const('conv2/w', [3, 3, 4, 6]), {});
  const idn = g.op('conv2/identity', 'Identity', [c2]);
  const add = g.op('add', 'AddV2', [bn, idn]);
  const relu = g.op('relu', 'Relu', [add]);
  const mul = g.op('mul', 'Mul', [relu, g.const('half', [], [0.5])]);
  const addc = g.op('addc', 'AddV2', [mul, g.const('shift', [6])]);
  const cat = g.op('concat', 'ConcatV2', [addc, relu, g.const('concat/axis', [], [3], 'int32')], { N: { i: '2' }, Tidx: { type: 'DT_INT32' } });
  const pad = g.op('pad', 'Pad', [cat, g.const('pad/p', [4, 2], [0, 0, 1, 0, 0, 1, 0, 0], 'int32')], { Tpaddings: { type: 'DT_INT32' } });
  const mp = g.op('maxpool', 'MaxPool', [pad], { ksize: ilist([1, 2, 2, 1]), strides: ilist([1, 1, 1, 1]), padding: s('VALID'), data_format: s('NHWC') });
  const ap = g.op('avgpool', 'AvgPool', [mp], { ksize: ilist([1, 2, 2, 1]), strides: ilist([1, 2, 2, 1]), padding: s('VALID'), data_format: s('NHWC') });
  const mean = g.op('mean', 'Mean', [ap, g.const('mean/axes', [2], [1, 2], 'int32')], { keep_dims: { b: false }, Tidx: { type: 'DT_INT32' } });
  const rs = g.op('reshape', 'Reshape', [mean, g.const('reshape/shape', [2], [-1, 12], 'int32')], { Tshape: { type: 'DT_INT32' } });
  const mm = g.op('fc', 'MatMul', [rs, g.const('fc/w', [12, 5])], { transpose_a: { b: false }, transpose_b: { b: false } });
  const mb = g.op('fc/bias', 'BiasAdd', [mm, g.const('fc/b', [5])], { data_format: s('NHWC') });
  g.op('probs', 'Softmax', [mb]);
  return g;
}

/** Pool to 1×1, Squeeze, fused MatMul. */
export function squeezeGraph(): GraphBuilder {
  const g = new GraphBuilder();
  const x = g.placeholder('x', [-1, 4, 4, 3]);
  const ap = g.op('avgpool', 'AvgPool', [x], { ksize: ilist([1, 4, 4, 1]), strides: ilist([1, 4, 4, 1]), padding: s('VALID'), data_format: s('NHWC') });
  const sq = g.op('squeeze', 'Squeeze', [ap], { squeeze_dims: ilist([1, 2]) });
  g.op('fc', '_FusedMatMul', [sq, g.const('fc/w', [3, 2]), g.const('fc/b', [2])], { transpose_a: { b: false }, transpose_b: { b: false }, fused_ops: slist(['BiasAdd']), num_args: { i: '1' }, epsilon: { f: 0 } });
  return g;
}

/**
 * The ops real converter output adds around a CNN: x·2 − 1 preprocessing (Mul, Sub), static shape
 * arithmetic (Shape → StridedSlice → Pack → Reshape, Cast), PReLU standalone and fused into a conv
 * (slopes as [1, 1, C] and as a scalar), an unfused ReLU6 (Maximum then Minimum) and a general
 * clip, Tanh, zero padding of the channels, Mean with keep_dims, ExpandDims and Squeeze.
 */
export function convertedOpsGraph(): GraphBuilder {
  const g = new GraphBuilder();
  const i32 = { type: 'DT_INT32' };
  const x = g.placeholder('x', [-1, 6, 6, 3]);
  const pre = g.op('pre/sub', 'Sub', [g.op('pre/mul', 'Mul', [x, g.const('pre/two', [], [2])]), g.const('pre/one', [], [1])]);
  const c1 = g.op('conv1', '_FusedConv2D', [pre, g.const('conv1/w', [3, 3, 3, 4]), g.const('conv1/b', [4]), g.const('conv1/alpha', [1, 1, 4], [0.1, 0.2, -0.1, 0.3])], {
    strides: ilist([1, 1, 1, 1]),
    padding: s('SAME'),
    data_format: s('NHWC'),
    dilations: ilist([1, 1, 1, 1]),
    fused_ops: slist(['BiasAdd', 'Prelu']),
    num_args: { i: '2' },
    epsilon: { f: 0 },
  });
  // unfused relu6 and a [-0.5, 0.7] clip
  const r6 = g.op('r6/min', 'Minimum', [g.op('r6/max', 'Maximum', [c1, g.const('r6/zero', [], [0])]), g.const('r6/six', [], [6])]);
  const dw = g.conv('dw', r6, g.const('dw/w', [3, 3, 4, 1]), { depthwise: true, fused: ['BiasAdd'], bias: g.const('dw/b', [4]) });
  const clip = g.op('clip/max', 'Maximum', [g.const('clip/lo', [], [-0.5]), g.op('clip/min', 'Minimum', [dw, g.const('clip/hi', [], [0.7])])]);
  const pr = g.op('prelu', 'Prelu', [clip, g.const('prelu/alpha', [], [0.25])]);
  // channel padding 4 → 6 (a residual that widens), then tanh
  const padded = g.op('pad', 'Pad', [pr, g.const('pad/p', [4, 2], [0, 0, 0, 0, 0, 0, 1, 1], 'int32')], { Tpaddings: i32 });
  const c2 = g.conv('conv2', padded, g.const('conv2/w', [1, 1, 6, 6]), { fused: ['BiasAdd'], bias: g.const('conv2/b', [6]) });
  const th = g.op('tanh', 'Tanh', [g.op('res', 'AddV2', [c2, padded])]);
  const mean = g.op('mean', 'Mean', [th, g.const('mean/axes', [2], [1, 2], 'int32')], { keep_dims: { b: true }, Tidx: i32 });
  // reshape to [batch, 6] through Shape → StridedSlice → Pack (the batch stays open), then Cast
  const shape = g.op('shape', 'Shape', [mean], { out_type: i32 });
  const batch = g.op('batch', 'StridedSlice', [shape, g.const('ss/b', [1], [0], 'int32'), g.const('ss/e', [1], [1], 'int32'), g.const('ss/s', [1], [1], 'int32')], {
    Index: i32,
    shrink_axis_mask: { i: '1' },
  });
  const six = g.op('six', 'Cast', [g.const('six/f', [], [6])], { SrcT: { type: 'DT_FLOAT' }, DstT: i32 });
  const target = g.op('target', 'Pack', [batch, six], { N: { i: '2' }, axis: { i: '0' } });
  const flat = g.op('flat', 'Reshape', [mean, target], { Tshape: i32 });
  const fc = g.op('fc', '_FusedMatMul', [flat, g.const('fc/w', [6, 3]), g.const('fc/b', [3])], { transpose_a: { b: false }, transpose_b: { b: false }, fused_ops: slist(['BiasAdd']), num_args: { i: '1' }, epsilon: { f: 0 } });
  const e = g.op('expand', 'ExpandDims', [fc, g.const('expand/axis', [], [-1], 'int32')], { Tdim: i32 });
  g.op('squeeze', 'Squeeze', [e], { squeeze_dims: ilist([2]) });
  return g;
}

/**
 * A trunk with three heads, as detectors and landmark models ship them: a per-pixel sigmoid map, a
 * class softmax, and a regression taken from the trunk's last feature map; the signature lists
 * them in another order than the graph's nodes.
 */
export function multiHeadGraph(): GraphBuilder {
  const g = new GraphBuilder();
  const x = g.placeholder('x', [-1, 6, 6, 2]);
  const c1 = g.conv('conv1', x, g.const('conv1/w', [3, 3, 2, 4]), { fused: ['BiasAdd', 'Relu'], bias: g.const('conv1/b', [4]) });
  const c2 = g.conv('conv2', c1, g.const('conv2/w', [3, 3, 4, 4]), { strides: 2, fused: ['BiasAdd', 'Relu6'], bias: g.const('conv2/b', [4]) });
  const heat = g.op('heat', 'Sigmoid', [g.conv('heat/conv', c2, g.const('heat/w', [1, 1, 4, 1]), { fused: ['BiasAdd'], bias: g.const('heat/b', [1]) })]);
  const mean = g.op('pool', 'Mean', [c2, g.const('pool/axes', [2], [1, 2], 'int32')], { keep_dims: { b: false }, Tidx: { type: 'DT_INT32' } });
  const probs = g.op('probs', 'Softmax', [g.op('cls', '_FusedMatMul', [mean, g.const('cls/w', [4, 3]), g.const('cls/b', [3])], { transpose_a: { b: false }, transpose_b: { b: false }, fused_ops: slist(['BiasAdd']), num_args: { i: '1' }, epsilon: { f: 0 } })]);
  const box = g.conv('box', c2, g.const('box/w', [3, 3, 4, 2]), { fused: ['BiasAdd'], bias: g.const('box/b', [2]) });
  g.outputs = { Identity: box, Identity_1: heat, Identity_2: probs };
  return g;
}

/**
 * Decoder ops: ResizeBilinear with half-pixel centres, DepthToSpace, ResizeNearestNeighbor to a
 * size computed from the tensor's shape (Shape → StridedSlice → Mul), Max over the spatial axes.
 */
export function upsampleGraph(): GraphBuilder {
  const g = new GraphBuilder();
  const i32 = { type: 'DT_INT32' };
  const x = g.placeholder('x', [-1, 4, 4, 2]);
  const c = g.conv('conv', x, g.const('conv/w', [3, 3, 2, 8]), { fused: ['BiasAdd', 'Relu'], bias: g.const('conv/b', [8]) });
  const up = g.op('up', 'ResizeBilinear', [c, g.const('up/size', [2], [6, 6], 'int32')], { align_corners: { b: false }, half_pixel_centers: { b: true } });
  const d2s = g.op('d2s', 'DepthToSpace', [up], { block_size: { i: '2' }, data_format: { s: btoa('NHWC') } });
  const hw = g.op('hw', 'StridedSlice', [g.op('shape', 'Shape', [d2s], { out_type: i32 }), g.const('hw/b', [1], [1], 'int32'), g.const('hw/e', [1], [3], 'int32'), g.const('hw/s', [1], [1], 'int32')], { Index: i32 });
  const nn = g.op('nn', 'ResizeNearestNeighbor', [d2s, g.op('size', 'Mul', [hw, g.const('two', [], [2], 'int32')], { T: i32 })], { align_corners: { b: false }, half_pixel_centers: { b: false } });
  const c2 = g.conv('conv2', nn, g.const('conv2/w', [3, 3, 2, 3]), { fused: ['BiasAdd'], bias: g.const('conv2/b', [3]) });
  g.op('gmax', 'Max', [c2, g.const('gmax/axes', [2], [1, 2], 'int32')], { keep_dims: { b: false }, Tidx: i32 });
  return g;
}

/**
 * A small segmenter as TF writes MobileNetV3-style decoders: a squeeze-and-excitation gate (Mul of
 * the features and a [1, 1, C] sigmoid), hard-swish as x/6 · relu6(x + 3), and two transposed
 * convolutions (Conv2DBackpropInput): one with a dynamic batch in input_sizes (Pack of Shape),
 * overlapping windows (k3 s2 SAME) and a BiasAdd after it, one k2 s2 VALID with constant sizes.
 */
export function segmenterGraph(): GraphBuilder {
  const g = new GraphBuilder();
  const i32 = { type: 'DT_INT32' };
  const x = g.placeholder('x', [-1, 4, 4, 3]);
  const c = g.conv('conv', x, g.const('conv/w', [3, 3, 3, 6]), { fused: ['BiasAdd', 'Relu'], bias: g.const('conv/b', [6]) });
  const pooled = g.op('se/mean', 'Mean', [c, g.const('se/axes', [2], [1, 2], 'int32')], { keep_dims: { b: true }, Tidx: i32 });
  const gate = g.op('se/sigmoid', 'Sigmoid', [g.conv('se/fc', pooled, g.const('se/fc/w', [1, 1, 6, 6]), { fused: ['BiasAdd'], bias: g.const('se/fc/b', [6]) })]);
  const se = g.op('se/mul', 'Mul', [c, gate]);
  const h = g.op('hs/mul_1', 'Mul', [g.op('hs/mul', 'Mul', [se, g.const('hs/sixth', [], [1 / 6])]), g.op('hs/relu6', 'Relu6', [g.op('hs/add', 'AddV2', [se, g.const('hs/three', [], [3])])])]);
  const batch = g.op('up1/batch', 'StridedSlice', [g.op('up1/shape', 'Shape', [h], { out_type: i32 }), g.const('up1/b', [1], [0], 'int32'), g.const('up1/e', [1], [1], 'int32'), g.const('up1/s', [1], [1], 'int32')], { Index: i32, shrink_axis_mask: { i: '1' } });
  const sizes = g.op('up1/sizes', 'Pack', [batch, g.const('up1/height', [], [8], 'int32'), g.const('up1/width', [], [7], 'int32'), g.const('up1/c', [], [4], 'int32')], { N: { i: '4' }, axis: { i: '0' }, T: i32 });
  const t = { data_format: { s: btoa('NHWC') }, dilations: { list: { i: ['1', '1', '1', '1'] } }, strides: { list: { i: ['1', '2', '2', '1'] } } };
  const up1 = g.op('up1', 'Conv2DBackpropInput', [sizes, g.const('up1/filter', [3, 3, 4, 6]), h], { ...t, padding: { s: btoa('SAME') } });
  const r = g.op('up1/relu', 'Relu', [g.op('up1/bias', 'BiasAdd', [up1, g.const('up1/bias/b', [4])])]);
  g.op('up2', 'Conv2DBackpropInput', [g.const('up2/sizes', [4], [1, 16, 14, 2], 'int32'), g.const('up2/w', [2, 2, 2, 4]), r], { ...t, padding: { s: btoa('VALID') } });
  return g;
}

/**
 * A face-embedding / regression head as converted models write them: PReLU as relu(x) + c·(x − |x|)
 * (and as x + c·(x − |x|) after a conv with a fused ReLU, the converter's form), then a dense
 * layer to [N, 3] whose columns are sliced (StridedSlice with shrink_axis_mask, Slice), combined by
 * products, a difference and a quotient of tensors (SSR-Net's head), beside an L2 normalisation
 * (Square, Sum keep_dims, Maximum, Rsqrt, Mul).
 */
export function embeddingGraph(): GraphBuilder {
  const g = new GraphBuilder();
  const i32 = { type: 'DT_INT32' };
  const x = g.placeholder('x', [-1, 6, 6, 3]);
  const c1 = g.conv('conv', x, g.const('conv/w', [3, 3, 3, 4]), { fused: ['BiasAdd'], bias: g.const('conv/b', [4]) });
  const prelu = (name: string, v: string, base: string) =>
    g.op(`${name}/add`, 'Add', [base, g.op(`${name}/mul`, 'Mul', [g.op(`${name}/sub`, 'Sub', [v, g.op(`${name}/abs`, 'Abs', [v])]), g.const(`${name}/c`, [4])])]);
  const p1 = prelu('p1', c1, g.op('p1/relu', 'Relu', [c1]));
  const c2 = g.conv('conv2', p1, g.const('conv2/w', [3, 3, 4, 4]), { fused: ['BiasAdd', 'Relu'], bias: g.const('conv2/b', [4]) });
  const p2 = prelu('p2', c2, c2);
  const flat = g.op('flat', 'Reshape', [p2, g.const('flat/shape', [2], [-1, 144], 'int32')], { Tshape: i32 });
  const d = g.op('fc', '_FusedMatMul', [flat, g.const('fc/w', [144, 3]), g.const('fc/b', [3])], { fused_ops: { list: { s: [btoa('BiasAdd')] } }, num_args: { i: '1' }, transpose_a: { b: false }, transpose_b: { b: false } });
  const col = (i: number) =>
    g.op(`col${i}`, 'StridedSlice', [d, g.const(`col${i}/b`, [2], [0, i], 'int32'), g.const(`col${i}/e`, [2], [0, i + 1], 'int32'), g.const(`col${i}/s`, [2], [1, 1], 'int32')], { Index: i32, begin_mask: { i: '1' }, end_mask: { i: '1' }, shrink_axis_mask: { i: '2' } });
  const last2 = g.op('last2', 'Slice', [d, g.const('last2/b', [2], [0, 1], 'int32'), g.const('last2/size', [2], [-1, -1], 'int32')], { Index: i32 });
  const ratio = g.op('ratio', 'RealDiv', [g.op('prod', 'Mul', [col(0), col(1)]), g.op('den', 'AddV2', [g.op('sq', 'Square', [col(2)]), g.const('one', [], [1])])]);
  const diff = g.op('diff', 'Sub', [g.op('ratio/expand', 'ExpandDims', [ratio, g.const('ax', [], [-1], 'int32')], { Tdim: i32 }), last2]);
  const ss = g.op('l2/sum', 'Sum', [g.op('l2/sq', 'Square', [d]), g.const('l2/axes', [], [-1], 'int32')], { keep_dims: { b: true }, Tidx: i32 });
  const norm = g.op('l2/mul', 'Mul', [d, g.op('l2/rsqrt', 'Rsqrt', [g.op('l2/sqrt', 'Sqrt', [g.op('l2/sqrt2', 'Square', [g.op('l2/max', 'Maximum', [ss, g.const('l2/eps', [], [1e-10])])])])])]);
  g.op('out', 'ConcatV2', [diff, norm, g.const('out/axis', [], [1], 'int32')], { N: { i: '2' }, Tidx: i32 });
  return g;
}

/**
 * An NCHW detector head as ONNX converters write it: an NCHW input transposed to NHWC around each
 * convolution, LeakyRelu in NCHW, PadV2 with −∞ before a VALID max pool, a reshape to a shape
 * computed by SparseToDense + Add on constants, and SplitV into a sigmoid score and box outputs.
 */
export function onnxStyleGraph(): GraphBuilder {
  const g = new GraphBuilder();
  const i32 = { type: 'DT_INT32' };
  const perm = (name: string, p: number[]) => g.const(name, [4], p, 'int32');
  const x = g.placeholder('x', [1, 3, 6, 6]);
  const toNhwc = g.op('t1', 'Transpose', [x, perm('t1/perm', [0, 2, 3, 1])], { Tperm: i32 });
  const conv = g.op('conv/add', 'Add', [g.conv('conv', toNhwc, g.const('conv/w', [3, 3, 3, 6]), {}), g.const('conv/b', [6])]);
  const nchw = g.op('t2', 'Transpose', [conv, perm('t2/perm', [0, 3, 1, 2])], { Tperm: i32 });
  const act = g.op('lrelu', 'LeakyRelu', [nchw], { alpha: { f: 0.1 } });
  const padded = g.op('pad', 'PadV2', [act, g.const('pad/p', [4, 2], [0, 0, 0, 0, 1, 1, 1, 1], 'int32'), g.const('pad/v', [], [Number.NEGATIVE_INFINITY])], { Tpaddings: i32 });
  const pool = g.op('pool', 'MaxPool', [g.op('t3', 'Transpose', [padded, perm('t3/perm', [0, 2, 3, 1])], { Tperm: i32 })], { ksize: { list: { i: ['1', '3', '3', '1'] } }, strides: { list: { i: ['1', '2', '2', '1'] } }, padding: { s: btoa('VALID') }, data_format: { s: btoa('NHWC') } });
  const head = g.op('head/add', 'Add', [g.conv('head', pool, g.const('head/w', [1, 1, 6, 5]), {}), g.const('head/b', [5])]);
  const nchw2 = g.op('t4', 'Transpose', [head, perm('t4/perm', [0, 3, 1, 2])], { Tperm: i32 });
  // target shape [1, 5, 9] = SparseToDense([[1]], [3], [5], 0) + [1, 0, 9]
  const std = g.op('std', 'SparseToDense', [g.const('std/i', [1, 1], [1], 'int32'), g.const('std/shape', [1], [3], 'int32'), g.const('std/v', [1], [5], 'int32'), g.const('std/d', [], [0], 'int32')], { T: i32, Tindices: i32 });
  const flat = g.op('flat', 'Reshape', [nchw2, g.op('shape', 'AddV2', [std, g.const('shape/b', [3], [1, 0, 9], 'int32')], { T: i32 })], { Tshape: i32 });
  g.op('split', 'SplitV', [flat, g.const('split/sizes', [2], [1, -1], 'int32'), g.const('split/axis', [], [1], 'int32')], { num_split: { i: '2' }, Tlen: i32 });
  g.op('score', 'Sigmoid', ['split']);
  g.op('boxes', 'Transpose', ['split:1', g.const('boxes/perm', [3], [0, 2, 1], 'int32')], { Tperm: i32 });
  g.outputs = { score: 'score', boxes: 'boxes' };
  return g;
}
