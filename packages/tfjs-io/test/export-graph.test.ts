import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, Rng } from '@lowbit/core';
import { bundledTestSet, makeBatch, subset } from '@lowbit/data';
import { loadReference } from '@lowbit/models/node';
import { disposeNetwork, forward, type Network, type NodeSpec } from '@lowbit/nn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportGraphModel, exportLayersModel, importTfjsModel, type LayerGrids, writeTfjsExport } from '../src/index.node.js';
import { cnnGraph, squeezeGraph } from './graph-fixtures.js';
import { allOpsNetwork } from './ir-fixtures.js';
import { quantizedReference } from './quantized-fixture.js';
import { stockGraph } from './stock-load.js';

const dir = mkdtempSync(join(tmpdir(), 'lowbit-export-graph-'));
beforeAll(() => initBackend({ backend: 'wasm', fallback: false }));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface ModelJson {
  format: string;
  modelTopology: { node: Array<{ name: string; op: string; input?: string[] }> };
  weightsManifest: Array<{ weights: Array<{ name: string; shape: number[]; dtype: string; quantization?: { dtype: string; scale?: number; min?: number } }> }>;
}
const readJson = (p: string) => JSON.parse(readFileSync(p, 'utf8')) as ModelJson;
const opsOf = (j: ModelJson) => new Set(j.modelTopology.node.map((n) => n.op));
const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
const argmaxAgreement = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.argMax(a, 1), tf.argMax(b, 1)), 'float32')).dataSync()[0]!);

/** Stock `tf.loadGraphModel` predictions of an exported network vs lowbit's forward on `x`. */
async function compare(net: Network, modelJson: string, x: tf.Tensor): Promise<{ diff: number; agree: number; shapeOk: boolean }> {
  const model = await stockGraph(modelJson);
  const ref = tf.tidy(() => forward(net, x).output);
  const got = model.predict(x) as tf.Tensor;
  const r = { diff: maxDiff(ref, got), agree: ref.rank === 2 ? argmaxAgreement(ref, got) : 1, shapeOk: ref.shape.join() === got.shape.join() };
  tf.dispose([ref, got]);
  model.dispose();
  return r;
}

describe('export to a stock TF.js GraphModel', () => {
  const testBatch = () => makeBatch(subset(bundledTestSet(), 1000), Int32Array.from({ length: 1000 }, (_, i) => i));

  for (const name of ['resnet-fm', 'mbv2-fm'] as const) {
    it(`a per-tensor W4 ${name}: uint8 kernels in the manifest, stock tf.loadGraphModel predictions equal lowbit's (argmax 100%, logits < 1e-4)`, async () => {
      const { net, grids } = quantizedReference(name, 4, 'tensor');
      const e = exportGraphModel(net, { grids });
      const { modelJson } = writeTfjsExport(join(dir, `${name}-w4`), e);
      const j = readJson(modelJson);
      expect(j.format).toBe('graph-model');
      // every kernel's manifest entry is uint8 with the grid's scale and min = s·(−2^(b−1)) (first and last layer at 8 bits)
      const entries = new Map(j.weightsManifest[0]!.weights.map((w) => [w.name, w]));
      for (const [layer, g] of Object.entries(grids)) {
        const entry = entries.get(`${layer}/kernel`)!;
        expect(entry, layer).toBeDefined();
        expect(entry.quantization).toMatchObject({ dtype: 'uint8', scale: g.scale[0], min: g.scale[0]! * -(2 ** (g.bits - 1)) });
      }
      expect(e.weights.filter((w) => w.storedAs === 'uint8').length).toBe(Object.keys(grids).length);
      // BN is folded: every layer has a bias, fused with its ReLU/ReLU6 where one follows
      const ops = opsOf(j);
      expect(ops.has('FusedBatchNormV3')).toBe(false);
      expect(ops.has('_FusedConv2D') && ops.has('_FusedMatMul') && ops.has('Mean') && ops.has('AddV2')).toBe(true);
      if (name === 'mbv2-fm') expect(ops.has('FusedDepthwiseConv2dNative')).toBe(true);
      const b = testBatch();
      const r = await compare(net, modelJson, b.x);
      expect(r.shapeOk).toBe(true);
      expect(r.diff).toBeLessThan(1e-4);
      expect(r.agree).toBe(1);
      tf.dispose([b.x, b.y]);
      disposeNetwork(net);
    }, 120_000);
  }

  it('float reference networks (BN not folded, bias-free convs) export as Conv2D/DepthwiseConv2dNative + FusedBatchNormV3', async () => {
    for (const name of ['resnet-fm', 'mbv2-fm'] as const) {
      const net = loadReference(name);
      const e = exportGraphModel(net);
      expect(e.weights.every((w) => w.storedAs === 'float32' || w.storedAs === 'int32')).toBe(true);
      const { modelJson } = writeTfjsExport(join(dir, `${name}-fp32`), e);
      const ops = opsOf(readJson(modelJson));
      expect(ops.has('FusedBatchNormV3') && ops.has('Conv2D')).toBe(true);
      if (name === 'mbv2-fm') expect(ops.has('DepthwiseConv2dNative') && ops.has('Relu6')).toBe(true);
      const x = new Rng(1).uniform([16, 28, 28, 1]);
      const r = await compare(net, modelJson, x);
      expect(r.diff, name).toBeLessThan(1e-4);
      expect(r.agree).toBe(1);
      x.dispose();
      disposeNetwork(net);
    }
  });

  it('every op of the IR: stock predictions equal lowbit forward (< 1e-4); unused nodes are left out', async () => {
    const net = allOpsNetwork();
    const grids: LayerGrids = { c2: { bits: 8, axis: null, scale: [0.01] } };
    // c2's kernel on its grid, so that the uint8 path runs inside a fused conv that is read twice
    net.params['c2']!['kernel']!.assign(tf.tidy(() => tf.mul(tf.round(tf.div(net.params['c2']!['kernel']!, 0.01)), 0.01)));
    const e = exportGraphModel(net, { grids });
    const { modelJson } = writeTfjsExport(join(dir, 'all-ops'), e);
    const j = readJson(modelJson);
    expect([...opsOf(j)].sort()).toEqual(
      [
        'AddN', 'AddV2', 'AvgPool', 'BiasAdd', 'Const', 'ConcatV2', 'Conv2DBackpropInput', 'DepthwiseConv2dNative', 'FusedBatchNormV3', 'Identity', 'MatMul', 'MaxPool', 'Mean', 'Mul', 'Pad', 'Placeholder',
        'RealDiv', 'Relu', 'Relu6', 'Reshape', 'Shape', 'Sigmoid', 'Softmax', 'StridedSlice', '_FusedConv2D', '_FusedMatMul',
      ].sort(),
    );
    const byName = new Map(j.modelTopology.node.map((n) => [n.name, n]));
    expect(byName.has('unused')).toBe(false);
    expect(byName.get('c1')).toMatchObject({ op: '_FusedConv2D' }); // + bias + ReLU: c1/relu is gone
    expect(byName.has('c1/relu')).toBe(false);
    expect(byName.get('c2')).toMatchObject({ op: '_FusedConv2D' }); // read three times: not fused with an activation
    expect(byName.get('fc1/relu')).toMatchObject({ op: 'Relu', input: ['fc1'] }); // no bias: no fusion
    expect(e.weights.find((w) => w.name === 'c2/kernel')).toMatchObject({ storedAs: 'uint8' });
    expect(j.modelTopology.node.at(-1)!.name).toBe('probs');
    const x = new Rng(2).uniform([4, 10, 10, 3]);
    const r = await compare(net, modelJson, x);
    expect(r.shapeOk).toBe(true);
    expect(r.diff).toBeLessThan(1e-4);
    x.dispose();
    disposeNetwork(net);
  });

  it('an op with no GraphModel form fails naming every such node, before anything is written', () => {
    const net = allOpsNetwork();
    const nodes = net.nodes as Array<NodeSpec | { op: string; name: string; inputs: string[] }>;
    nodes[nodes.findIndex((n) => n.name === 'sig')] = { op: 'gelu', name: 'sig', inputs: ['avgpool'] };
    nodes[nodes.findIndex((n) => n.name === 'id')] = { op: 'mish', name: 'id', inputs: ['sum3'] };
    const out = join(dir, 'unsupported');
    let msg = '';
    try {
      writeTfjsExport(out, exportGraphModel(net));
    } catch (err) {
      msg = (err as Error).message;
    }
    expect(msg).toMatch(/cannot export 2 node\(s\) of 'all-ops' to a GraphModel/);
    expect(msg).toMatch(/'id' \(mish\): no GraphModel form for op 'mish'/);
    expect(msg).toMatch(/'sig' \(gelu\): no GraphModel form for op 'gelu'/);
    expect(existsSync(out)).toBe(false);
    disposeNetwork(net);
  });
});

describe('LayersModel export limits', () => {
  it('names every layer the LayersModel format cannot express in one error, and the GraphModel export takes the same network', () => {
    const net = allOpsNetwork();
    let message = '';
    try {
      exportLayersModel(net);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/^cannot export 3 layers as a TF\.js LayersModel/);
    for (const name of ["'pre': per-channel rescaling", "'c1': explicit padding", "'hswish': stock TF.js has no hard-swish"]) expect(message).toContain(name);
    expect(() => exportGraphModel(net)).not.toThrow();
    disposeNetwork(net);
  });
});

describe('GraphModel round trips', () => {
  for (const [name, make, shape] of [
    ['converter-style CNN', cnnGraph, [3, 8, 8, 2]],
    ['pool + squeeze + fused MatMul', squeezeGraph, [4, 4, 4, 3]],
  ] as const) {
    it(`hand-written ${name}: import → export → stock tf.loadGraphModel gives the original graph's outputs (< 1e-4)`, async () => {
      const src = make().write(join(dir, `src-${name.replace(/\W+/g, '_')}`));
      const net = importTfjsModel(src);
      const { modelJson } = writeTfjsExport(join(dir, `rt-${name.replace(/\W+/g, '_')}`), exportGraphModel(net));
      const [orig, back] = [await stockGraph(src), await stockGraph(modelJson)];
      const x = new Rng(7).uniform([...shape]);
      const [a, b] = [orig.predict(x) as tf.Tensor, back.predict(x) as tf.Tensor];
      expect(b.shape).toEqual(a.shape);
      expect(maxDiff(a, b)).toBeLessThan(1e-4);
      // and lowbit reads its own export back to the same function
      const again = importTfjsModel(modelJson);
      expect(maxDiff(a, tf.tidy(() => forward(again, x).output))).toBeLessThan(1e-4);
      tf.dispose([x, a, b]);
      orig.dispose();
      back.dispose();
      disposeNetwork(net);
      disposeNetwork(again);
    });
  }

  it('export → import gives the same network function (explicit padding, AddN, concat axes, rescaling, fused activations, swish, hard-swish)', () => {
    const net = allOpsNetwork();
    const { modelJson } = writeTfjsExport(join(dir, 'all-ops-rt'), exportGraphModel(net));
    const back = importTfjsModel(modelJson);
    expect(back.nodes.find((n) => n.name === 'c1')).toMatchObject({ padding: [[2, 0], [0, 1]], useBias: true });
    expect(back.nodes.find((n) => n.name === 'sum3')).toMatchObject({ op: 'add', inputs: ['c2', 'swish', 'hswish'] });
    expect(back.nodes.find((n) => n.name === 'swish')).toMatchObject({ op: 'swish', inputs: ['c2'] });
    expect(back.nodes.find((n) => n.name === 'hswish')).toMatchObject({ op: 'hardSwish', inputs: ['wide'] });
    // Conv2DBackpropInput + BiasAdd is one transposed convolution with its bias again (input_sizes folded from Shape)
    expect(back.nodes.filter((n) => n.op === 'conv2dTranspose')).toMatchObject([{ outputSize: [6, 6], padding: 'same', useBias: true }, { name: 'up2', outputSize: [6, 6], padding: 'valid', useBias: false }]);
    expect(back.nodes.find((n) => n.name === 'gated')).toMatchObject({ op: 'mul' });
    // the sigmoid and add/relu6/div chains the export wrote are folded back, not kept beside the activations
    expect(back.nodes.filter((n) => n.name.startsWith('swish/') || n.name.startsWith('hswish/'))).toEqual([]);
    const x = new Rng(8).uniform([3, 10, 10, 3]);
    const d = tf.tidy(() => maxDiff(forward(net, x).output, forward(back, x).output));
    expect(d).toBeLessThan(1e-5);
    x.dispose();
    disposeNetwork(net);
    disposeNetwork(back);
  });
});
