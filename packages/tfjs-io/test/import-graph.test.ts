import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, Rng } from '@lowbit/core';
import { disposeNetwork, forward, type Network, quantizableLayers } from '@lowbit/nn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportGraphModel, exportLayersModel, importTfjsModel, writeTfjsExport } from '../src/index.node.js';
import { cnnGraph, convertedOpsGraph, embeddingGraph, GraphBuilder, multiHeadGraph, onnxStyleGraph, segmenterGraph, squeezeGraph, upsampleGraph } from './graph-fixtures.js';
import { stockGraph, stockLayers } from './stock-load.js';

const dir = mkdtempSync(join(tmpdir(), 'lowbit-graph-'));
beforeAll(() => initBackend({ backend: 'wasm', fallback: false }));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Exports `net` (as a GraphModel or a LayersModel), loads it with stock tfjs and returns max |stock prediction − ref| on `x`. */
async function exportedMaxDiff(kind: 'graph' | 'layers', net: Network, name: string, x: tf.Tensor, ref: tf.Tensor): Promise<number> {
  const e = writeTfjsExport(join(dir, name), kind === 'graph' ? exportGraphModel(net) : exportLayersModel(net));
  const model = kind === 'graph' ? await stockGraph(e.modelJson) : await stockLayers(e.modelJson);
  const via = model.predict(x) as tf.Tensor;
  const d = tf.tidy(() => tf.max(tf.abs(tf.sub(via, ref))).dataSync()[0]!);
  tf.dispose(via);
  model.dispose();
  return d;
}

describe('GraphModel import', () => {
  for (const [name, make, shape] of [
    ['converter-style CNN', cnnGraph, [3, 8, 8, 2]],
    ['pool + squeeze + fused MatMul', squeezeGraph, [4, 4, 4, 3]],
    ['converter ops: Sub, shape arithmetic, PReLU, Maximum/Minimum, Tanh, channel Pad, keep_dims, ExpandDims', convertedOpsGraph, [3, 6, 6, 3]],
    ['decoder ops: ResizeBilinear, DepthToSpace, ResizeNearestNeighbor to a computed size, global Max', upsampleGraph, [2, 4, 4, 2]],
    ['head ops: PReLU as relu(x) + c·(x − |x|), StridedSlice / Slice of a tensor, Mul / Sub / RealDiv of tensors, Square, Sum, Rsqrt', embeddingGraph, [3, 6, 6, 3]],
    ['segmenter ops: Conv2DBackpropInput (dynamic and constant sizes, SAME and VALID), a squeeze-and-excitation Mul, hard-swish as x/6 · relu6(x + 3)', segmenterGraph, [1, 4, 4, 3]],
  ] as const) {
    it(`${name}: same outputs as stock tf.loadGraphModel (< 1e-4)`, async () => {
      const path = make().write(join(dir, name.replace(/\W+/g, '_')));
      const net = importTfjsModel(path);
      const model = await stockGraph(path);
      const x = new Rng(2).uniform([...shape]);
      const ref = model.predict(x) as tf.Tensor;
      const got = tf.tidy(() => forward(net, x).output);
      expect(got.shape).toEqual(ref.shape);
      expect(tf.tidy(() => tf.max(tf.abs(tf.sub(got, ref))).dataSync()[0]!)).toBeLessThan(1e-4);
      if (name === 'converter-style CNN') {
        // BiasAdd after the bias-free pointwise conv and after MatMul became layer biases
        expect(net.nodes.find((n) => n.name === 'pw')).toMatchObject({ useBias: true });
        expect(net.nodes.find((n) => n.name === 'fc')).toMatchObject({ useBias: true });
        expect(quantizableLayers(net).length).toBe(5);
        expect(net.blocks.some((b) => b.nodes.includes('add') && b.nodes.includes('conv2'))).toBe(true);
      }
      if (name.startsWith('converter ops')) {
        // no shape arithmetic reaches the IR; the unfused ReLU6 is one relu6, the clip one node
        const ops = net.nodes.map((n) => n.op);
        expect(ops.filter((o) => o === 'relu6')).toHaveLength(1);
        expect(net.nodes.find((n) => n.op === 'clip')).toMatchObject({ min: -0.5, max: Math.fround(0.7) });
        expect(ops.filter((o) => o === 'prelu')).toHaveLength(2);
        expect(net.nodes.find((n) => n.op === 'zeroPad')).toMatchObject({ channels: [1, 1] });
        expect(quantizableLayers(net).length).toBe(4);
        // exported as a GraphModel, stock tfjs loads it and predicts the same
        expect(await exportedMaxDiff('graph', net, 'converter-ops-graph', x, ref)).toBeLessThan(1e-4);
      }
      if (name.startsWith('decoder ops')) {
        expect(net.nodes.map((n) => n.op)).toEqual(['conv2d', 'relu', 'resize', 'depthToSpace', 'resize', 'conv2d', 'maxPool', 'reshape']);
        expect(net.nodes.find((n) => n.name === 'nn')).toMatchObject({ size: [24, 24], method: 'nearest' });
        expect(await exportedMaxDiff('graph', net, 'decoder-ops-graph', x, ref)).toBeLessThan(1e-4);
        // the gradient reaches the input through both resizes and DepthToSpace (reconstruction needs it)
        const gx = tf.grad((inp: tf.Tensor) => tf.sum(forward(net, inp).output))(x);
        expect(tf.tidy(() => tf.sum(tf.abs(gx)).dataSync()[0]!)).toBeGreaterThan(0);
        gx.dispose();
      }
      if (name.startsWith('head ops')) {
        // both PReLU forms are one prelu node each: no abs / sub chains left in the layers
        const ops = net.nodes.map((n) => n.op);
        expect(ops.filter((o) => o === 'prelu')).toHaveLength(2);
        const slices = net.nodes.flatMap((n) => (n.op === 'slice' ? [JSON.stringify([n.begin, n.size, n.squeeze])] : []));
        expect(slices.sort()).toEqual(['[[0],[1],[0]]', '[[1],[1],[0]]', '[[1],[2],[]]', '[[2],[1],[0]]']);
        for (const op of ['sub', 'div', 'sum', 'sqrt', 'rsqrt']) expect(ops).toContain(op);
        expect(ops).not.toContain('abs');
        expect(await exportedMaxDiff('graph', net, 'head-graph', x, ref)).toBeLessThan(1e-4);
        expect(() => exportLayersModel(net)).toThrow(/stock TF\.js has no layer for op 'slice'/);
      }
      if (name.startsWith('segmenter ops')) {
        expect(net.nodes.filter((n) => n.op === 'conv2dTranspose').map((n) => [n.name, (n as { outputSize: number[] }).outputSize, (n as { useBias: boolean }).useBias])).toEqual([
          ['up1', [8, 7], true],
          ['up2', [16, 14], false],
        ]);
        expect(net.nodes.filter((n) => n.op === 'mul').map((n) => n.name)).toEqual(['se/mul', 'hs/mul_1']);
        // transposed convolutions are weighted layers, quantized per output channel (axis 2 of [kh, kw, out, in])
        expect(quantizableLayers(net).map((l) => l.spec.name)).toEqual(['conv', 'se/fc', 'up1', 'up2']);
        expect(await exportedMaxDiff('graph', net, 'segmenter-graph', x, ref)).toBeLessThan(1e-4);
        // up1's [8, 7] is not what Keras's Conv2DTranspose derives from [4, 4] (8, 8): refused by name
        expect(() => exportLayersModel(net)).toThrow(/'up1': a transposed convolution to \[8, 7\] \(Conv2DTranspose derives \[8, 8\] and has no output_padding in tfjs-layers\)/);
        const gx = tf.grad((inp: tf.Tensor) => tf.sum(forward(net, inp).output))(x);
        expect(tf.tidy(() => tf.sum(tf.abs(gx)).dataSync()[0]!)).toBeGreaterThan(0);
        gx.dispose();
      }
      if (name === 'pool + squeeze + fused MatMul') {
        // exported as a LayersModel, stock tfjs loads it and predicts the same (an imported Squeeze is a Flatten, not a Reshape to [-1])
        expect(await exportedMaxDiff('layers', net, `${name.replace(/\W+/g, '_')}-layers`, x, ref)).toBeLessThan(1e-4);
      }
      tf.dispose([x, ref, got]);
      model.dispose();
      disposeNetwork(net);
    });
  }

  it('several outputs: each matches stock tfjs in signature order, forward concatenates them, both exports load in stock tfjs with the same outputs', async () => {
    const path = multiHeadGraph().write(join(dir, 'multi-head'));
    const net = importTfjsModel(path);
    // the heads that are not the graph's last node are passed on by identities at the end
    expect(net.outputs).toEqual(['box', 'heat/output', 'probs/output']);
    const model = await stockGraph(path);
    const x = new Rng(3).uniform([2, 6, 6, 2]);
    const refs = model.predict(x) as tf.Tensor[];
    expect(refs.map((r) => r.shape)).toEqual([[2, 3, 3, 2], [2, 3, 3, 1], [2, 3]]);
    const r = forward(net, x);
    for (const [i, ref] of refs.entries()) expect(tf.tidy(() => tf.max(tf.abs(tf.sub(r.outputs[i]!, ref))).dataSync()[0]!)).toBeLessThan(1e-5);
    // the single output reconstruction and agreement compare: the outputs flattened, in order
    expect(r.output.shape).toEqual([2, 18 + 9 + 3]);
    const flat = tf.concat(refs.map((t) => tf.reshape(t, [2, -1])), 1);
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(r.output, flat))).dataSync()[0]!)).toBeLessThan(1e-5);
    for (const [kind, e] of [['graph', exportGraphModel(net)], ['layers', exportLayersModel(net)]] as const) {
      const out = writeTfjsExport(join(dir, `multi-head-${kind}`), e);
      const back = kind === 'graph' ? await stockGraph(out.modelJson) : await stockLayers(out.modelJson);
      const again = back.predict(x) as tf.Tensor[];
      expect(again).toHaveLength(3);
      for (const [i, ref] of refs.entries()) expect(tf.tidy(() => tf.max(tf.abs(tf.sub(again[i]!, ref))).dataSync()[0]!)).toBeLessThan(1e-5);
      tf.dispose(again);
      back.dispose();
    }
    tf.dispose([x, flat, ...refs, r.output, ...r.outputs]);
    model.dispose();
    disposeNetwork(net);
  });

  it('ONNX-style NCHW graph: Transpose, LeakyRelu, PadV2 with −∞, SparseToDense shape arithmetic and SplitV match stock tfjs; the GraphModel export too', async () => {
    const path = onnxStyleGraph().write(join(dir, 'onnx-style'));
    const net = importTfjsModel(path);
    const ops = net.nodes.map((n) => n.op);
    expect(ops.filter((o) => o === 'transpose')).toHaveLength(5);
    expect(net.nodes.find((n) => n.op === 'pad')).toMatchObject({ paddings: [[0, 0], [1, 1], [1, 1]], value: -3.4028234663852886e38 });
    expect(net.nodes.filter((n) => n.op === 'slice').map((n) => (n as { size: number[] }).size)).toEqual([[1, 9], [4, 9]]);
    expect(quantizableLayers(net).map((l) => l.spec.name)).toEqual(['conv', 'head']);
    const model = await stockGraph(path);
    const x = new Rng(4).uniform([1, 3, 6, 6], -1, 1);
    const refs = model.predict(x) as tf.Tensor[];
    expect(refs.map((r) => r.shape)).toEqual([[1, 1, 9], [1, 9, 4]]);
    const r = forward(net, x);
    for (const [i, ref] of refs.entries()) expect(tf.tidy(() => tf.max(tf.abs(tf.sub(r.outputs![i]!, ref))).dataSync()[0]!)).toBe(0);
    const back = await stockGraph(writeTfjsExport(join(dir, 'onnx-style-graph'), exportGraphModel(net)).modelJson);
    const again = back.predict(x) as tf.Tensor[];
    for (const [i, ref] of refs.entries()) expect(tf.tidy(() => tf.max(tf.abs(tf.sub(again[i]!, ref))).dataSync()[0]!)).toBeLessThan(1e-5);
    tf.dispose([x, ...refs, ...again, r.output, ...(r.outputs ?? [])]);
    back.dispose();
    model.dispose();
    disposeNetwork(net);
  });

  it("converter output: Const and Placeholder nodes without an 'input' field, and EXPLICIT conv padding", async () => {
    const g = cnnGraph();
    // the converter writes explicit padding as EXPLICIT + explicit_paddings (here: 1 top, 2 right)
    const c1 = g.nodes.find((n) => n.name === 'conv1')!;
    c1.attr['padding'] = { s: btoa('EXPLICIT') };
    c1.attr['explicit_paddings'] = { list: { i: ['0', '0', '1', '0', '0', '2', '0', '0'] } };
    const path = g.write(join(dir, 'converter'));
    const j = JSON.parse(readFileSync(path, 'utf8'));
    for (const n of j.modelTopology.node) if (n.input.length === 0) delete n.input;
    writeFileSync(path, JSON.stringify(j));
    const net = importTfjsModel(path);
    expect(net.nodes.find((n) => n.name === 'conv1')).toMatchObject({ padding: [[1, 0], [0, 2]] });
    const model = await stockGraph(path);
    const x = new Rng(4).uniform([2, 8, 8, 2]);
    const ref = model.predict(x) as tf.Tensor;
    const got = tf.tidy(() => forward(net, x).output);
    expect(got.shape).toEqual(ref.shape);
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(got, ref))).dataSync()[0]!)).toBeLessThan(1e-4);
    tf.dispose([x, ref, got]);
    model.dispose();
    disposeNetwork(net);
  });

  it('slices of a computed tensor are refused by name when strided or across the batch', () => {
    const i32 = { type: 'DT_INT32' };
    for (const [name, b, e, st, attr, why] of [
      ['strided', [0, 0], [0, 4], [1, 2], { begin_mask: { i: '1' }, end_mask: { i: '1' } }, /'cut' \(StridedSlice\): strides \[1, 2\] \(only 1\)/],
      ['batch', [1, 0], [0, 4], [1, 1], { end_mask: { i: '3' } }, /'cut' \(StridedSlice\): slicing the batch axis/],
      ['empty', [0, 3], [0, 1], [1, 1], { begin_mask: { i: '1' }, end_mask: { i: '1' } }, /'cut' \(StridedSlice\): an empty slice of \[batch, 4\]/],
    ] as const) {
      const g = new GraphBuilder();
      const x = g.placeholder('x', [-1, 4]);
      g.op('cut', 'StridedSlice', [x, g.const('b', [2], [...b], 'int32'), g.const('e', [2], [...e], 'int32'), g.const('s', [2], [...st], 'int32')], { Index: i32, ...attr });
      const path = g.write(join(dir, `slice-${name}`));
      expect(() => importTfjsModel(path)).toThrow(why);
    }
  });

  it('a non-finite layer parameter is refused naming the stored weight; a non-finite graph constant is not', () => {
    const g = new GraphBuilder();
    const x = g.placeholder('x', [-1, 4, 4, 1]);
    const w = g.const('conv/w', [1, 1, 1, 2], [0.5, Number.NaN]);
    g.op('relu', 'Relu', [g.conv('conv', x, w, {})]);
    expect(() => importTfjsModel(g.write(join(dir, 'nan-kernel')))).toThrow(/weight 'conv\/w' has a non-finite value at flat index 1/);
  });

  it('a node name given twice is refused (every input naming it would be ambiguous)', () => {
    const g = new GraphBuilder();
    const x = g.placeholder('x', [-1, 4]);
    g.op('act', 'Relu', [x]);
    g.op('act', 'Relu6', [x]);
    expect(() => importTfjsModel(g.write(join(dir, 'twice')))).toThrow(/field 'modelTopology\.node\[2\]\.name' is 'act', the name of node\[1\] too; node names must be unique/);
  });

  it('EXPLICIT padding on a pool is refused by name (only convolutions take it)', () => {
    const g = new GraphBuilder();
    const x = g.placeholder('x', [-1, 4, 4, 1]);
    g.op('pool', 'MaxPool', [x], { ksize: { list: { i: ['1', '2', '2', '1'] } }, strides: { list: { i: ['1', '1', '1', '1'] } }, padding: { s: btoa('EXPLICIT') }, explicit_paddings: { list: { i: ['0', '0', '1', '1', '1', '1', '0', '0'] } } });
    const path = g.write(join(dir, 'pool-explicit'));
    expect(() => importTfjsModel(path)).toThrow(/'pool' \(MaxPool\): explicit padding \(only on convolutions\)/);
  });

  it('unsupported ops are all listed before any work', () => {
    const g = new GraphBuilder();
    const x = g.placeholder('x', [-1, 4, 4, 1]);
    const e = g.op('elu', 'Elu', [x]);
    const t = g.op('erf', 'Erf', [e]);
    g.conv('c', t, g.const('c/w', [1, 1, 1, 1]), { fused: ['BiasAdd', 'LeakyRelu'], bias: g.const('c/b', [1]) });
    const path = g.write(join(dir, 'unsup'));
    let msg = '';
    try {
      importTfjsModel(path);
    } catch (err) {
      msg = (err as Error).message;
    }
    expect(msg).toMatch(/cannot import 3 node\(s\)/);
    expect(msg).toMatch(/'elu' \(Elu\): op 'Elu' is not supported/);
    expect(msg).toMatch(/'erf' \(Erf\)/);
    expect(msg).toMatch(/'c' \(_FusedConv2D\): fused ops LeakyRelu are not supported/);
  });
});
