import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, Rng } from '@lowbit/core';
import { bundledTestSet, makeBatch, subset } from '@lowbit/data';
import * as tfjs from '@tensorflow/tfjs';
import { disposeNetwork, forward, type Network, type NetworkSpec, specOf } from '@lowbit/nn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quantizedReference } from './quantized-fixture.js';
import { exportGraphModel, exportLayersModel, exportPacked, writeTfjsExport } from '../src/index.node.js';
import { packedHandler } from '../src/packed/index.node.js';
import { stockGraph, stockLayers as stockLoad } from './stock-load.js';

const dir = mkdtempSync(join(tmpdir(), 'lowbit-export-'));
beforeAll(() => initBackend({ backend: 'wasm', fallback: false }));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('export to stock TF.js', () => {
  const test = () => makeBatch(subset(bundledTestSet(), 1000), Int32Array.from({ length: 1000 }, (_, i) => i));

  for (const [refName, bits] of [['resnet-fm', 8], ['resnet-fm', 4], ['mbv2-fm', 4]] as const) {
    it(`a per-tensor W${bits} ${refName}: uint8 manifest, stock tfjs predictions equal lowbit's (argmax 100%, logits < 1e-4)`, async () => {
      const { net, grids } = quantizedReference(refName, bits, 'tensor');
      const e = exportLayersModel(net, { grids });
      const kernels = e.weights.filter((w) => w.name.endsWith('kernel'));
      expect(kernels.every((w) => w.storedAs === 'uint8')).toBe(true);
      expect(kernels.length).toBe(Object.keys(grids).length);
      const { modelJson } = writeTfjsExport(join(dir, `${refName}-t${bits}`), e);
      const model = await stockLoad(modelJson);
      const b = test();
      const ref = tf.tidy(() => forward(net, b.x).output);
      const got = model.predict(b.x) as tf.Tensor;
      const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(ref, got))).dataSync()[0]!);
      expect(diff).toBeLessThan(1e-4);
      const agree = tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.argMax(ref, 1), tf.argMax(got, 1)), 'float32')).dataSync()[0]!);
      expect(agree).toBe(1);
      const fp32Bytes = 4 * Object.values(net.params).reduce((s, p) => s + Object.values(p).reduce((a, v) => a + v.size, 0), 0);
      expect(statSync(join(dir, `${refName}-t${bits}`, 'group1-shard1of1.bin')).size).toBeLessThan(fp32Bytes / 3);
      tf.dispose([b.x, b.y, ref, got]);
      model.dispose();
      disposeNetwork(net);
    }, 120_000);
  }

  // both stock formats store weights alike (weights-manifest.ts); the graph export's names keep the '/'
  for (const [format, exportFn, load, kernel] of [
    ['LayersModel', exportLayersModel, stockLoad, 'block1_conv1/kernel'],
    ['GraphModel', exportGraphModel, stockGraph, 'block1/conv1/kernel'],
  ] as const) {
    it(`${format}: per-channel kernels are stored as integer codes in uint8 (default), float32 (exact) or float16, and the report and manifest say so`, async () => {
      const { net, grids } = quantizedReference('resnet-fm', 4, 'channel');
      const e8 = exportFn(net, { grids });
      const k = e8.weights.find((w) => w.name === kernel)!;
      expect(k.storedAs).toBe('uint8');
      expect(k.note).toMatch(/4-bit per-channel grid: integer codes, the scales applied in '.+' \(float16\)/);
      const e32 = exportFn(net, { grids, perChannel: 'float32' });
      expect(e32.weights.find((w) => w.name === kernel)).toMatchObject({ storedAs: 'float32', note: '4-bit per-channel grid: stored as float32 (exact)' });
      const e16 = exportFn(net, { grids, perChannel: 'float16' });
      expect(e16.weights.find((w) => w.name === kernel)!.storedAs).toBe('float16');
      expect(e16.weightData.length).toBeLessThan(0.6 * e32.weightData.length);
      // one byte a weight, plus float16 scales and biases
      expect(e8.weightData.length).toBeLessThan(0.3 * e32.weightData.length);
      const [p8, p32, p16] = ([[e8, 8], [e32, 32], [e16, 16]] as const).map(([e, b]) => writeTfjsExport(join(dir, `${format}-c${b}`), e).modelJson) as [string, string, string];
      const manifestKernels = (p: string) => (JSON.parse(readFileSync(p, 'utf8')).weightsManifest[0].weights as Array<{ name: string; dtype: string; quantization?: { dtype: string; scale?: number; min?: number } }>).filter((w) => w.name.endsWith('kernel') && !w.name.includes('scale'));
      expect(manifestKernels(p32).length).toBe(Object.keys(grids).length);
      expect(manifestKernels(p32).every((w) => w.dtype === 'float32' && w.quantization === undefined)).toBe(true);
      expect(manifestKernels(p16).every((w) => w.quantization?.dtype === 'float16')).toBe(true);
      expect(manifestKernels(p8).every((w) => w.quantization?.dtype === 'uint8' && w.quantization.scale === 1 && [-8, -128].includes(w.quantization.min!))).toBe(true);
      const [m8, m32, m16] = [await load(p8), await load(p32), await load(p16)];
      const x = new Rng(3).uniform([64, 28, 28, 1]);
      const ref = tf.tidy(() => forward(net, x).output);
      const [d8, d32, d16] = tf.tidy(() => [m8, m32, m16].map((m) => tf.max(tf.abs(tf.sub(ref, m.predict(x) as tf.Tensor))).dataSync()[0]!));
      expect(d32).toBeLessThan(1e-4);
      expect(d16).toBeLessThan(0.05);
      // float16 scales and biases: a few 1e-3 on logits of size ~10
      expect(d8).toBeLessThan(0.05);
      const agree = tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.argMax(ref, 1), tf.argMax(m8.predict(x) as tf.Tensor, 1)), 'float32')).dataSync()[0]!);
      expect(agree).toBeGreaterThanOrEqual(63 / 64);
      // biases beside the codes in uint8 (codeBias): 1 byte a channel, each within half a step of its value
      const eb = exportFn(net, { grids, codeBias: 'uint8' });
      const biases = eb.weights.filter((w) => w.note?.startsWith('bias of'));
      expect(biases.length).toBeGreaterThan(0);
      expect(biases.every((w) => w.storedAs === 'uint8' && w.note!.endsWith('uint8 (256 levels)'))).toBe(true);
      expect(e8.weights.filter((w) => w.note?.startsWith('bias of')).every((w) => w.storedAs === 'float16')).toBe(true);
      expect(eb.weightData.length).toBe(e8.weightData.length - biases.reduce((a, w) => a + w.bytes, 0));
      const pb = writeTfjsExport(join(dir, `${format}-cb8`), eb).modelJson;
      const mb = await load(pb);
      const entries = JSON.parse(readFileSync(pb, 'utf8')).weightsManifest[0].weights as Array<{ name: string; quantization?: { dtype: string; scale: number; min: number } }>;
      for (const w of biases.slice(0, 3)) {
        const q = entries.find((x) => x.name === w.name)!.quantization!;
        expect(q.dtype).toBe('uint8');
        const exact = net.params[w.layer!]!['bias']!.dataSync();
        const lo = Math.min(...exact);
        const hi = Math.max(...exact);
        expect(q.min).toBeCloseTo(lo, 6);
        expect(q.scale).toBeCloseTo((hi - lo) / 255, 6);
      }
      const db = tf.tidy(() => tf.max(tf.abs(tf.sub(ref, mb.predict(x) as tf.Tensor))).dataSync()[0]!);
      expect(db).toBeGreaterThan(d8!);
      expect(db).toBeLessThan(0.5);
      mb.dispose();
      console.log(`${format} per-channel W4: uint8 codes ${e8.weightData.length} B (max |Δlogit| ${d8!.toExponential(1)}), float16 ${e16.weightData.length} B, float32 ${e32.weightData.length} B`);
      tf.dispose([x, ref]);
      for (const m of [m8, m32, m16]) m.dispose();
      disposeNetwork(net);
    }, 120_000);
  }

  it('refuses a weight float16 cannot hold (it would be Infinity in the export) and names it; float32 or uint8 storage takes it', () => {
    const { net, grids } = quantizedReference('resnet-fm', 4, 'channel');
    const bias = net.params['block1/conv1']!['bias']!;
    const big = bias.dataSync().slice();
    big[2] = 1e5;
    bias.assign(tf.tensor(big, bias.shape));
    for (const exportFn of [exportLayersModel, exportGraphModel]) {
      expect(() => exportFn(net, { grids })).toThrow(/weight '.*block1.conv1.*' holds 100000 at index 2, which float16 cannot represent \(largest 65504\); .*codeBias: 'uint8'/);
      const e = exportFn(net, { grids, codeBias: 'uint8' });
      expect(e.weights.length).toBeGreaterThan(0);
    }
    disposeNetwork(net);
  });

  it('node names stock TF.js would reject or merge (non-ASCII, equal once sanitised, colliding with a _scale layer) get unique Keras names; the exports load and predict as lowbit', async () => {
    const { net, grids } = quantizedReference('resnet-fm', 4, 'channel');
    // α and β both sanitise to '_'; 'stem/conv' → 'block1_relu1' collides with block1/relu1; 'block2_conv1_scale' with block2/conv1's scale layer
    const renames: Record<string, string> = { 'block1/conv1': 'α', 'block1/conv2': 'β', 'stem/conv': 'block1_relu1', 'block3/conv1': 'block2_conv1_scale' };
    let json = JSON.stringify(specOf(net));
    for (const [from, to] of Object.entries(renames)) json = json.replaceAll(`"${from}"`, JSON.stringify(to));
    const renamed: Network = { ...(JSON.parse(json) as NetworkSpec), params: Object.fromEntries(Object.entries(net.params).map(([k, v]) => [renames[k] ?? k, v])) };
    const rgrids = Object.fromEntries(Object.entries(grids).map(([k, v]) => [renames[k] ?? k, v]));
    const x = new Rng(5).uniform([16, 28, 28, 1]);
    const ref = tf.tidy(() => forward(renamed, x).output);
    const layers = writeTfjsExport(join(dir, 'renamed-layers'), exportLayersModel(renamed, { grids: rgrids })).modelJson;
    const packed = writeTfjsExport(join(dir, 'renamed-packed'), exportPacked(renamed, { grids: rgrids })).modelJson;
    const names = (JSON.parse(readFileSync(layers, 'utf8')).modelTopology.config.layers as Array<{ name: string }>).map((l) => l.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names.every((n) => /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(n))).toBe(true);
    for (const m of [await stockLoad(layers), await tfjs.loadLayersModel(packedHandler(packed))]) {
      const got = m.predict(x) as tf.Tensor;
      expect(tf.tidy(() => tf.max(tf.abs(tf.sub(ref, got))).dataSync()[0]!)).toBeLessThan(0.05);
      got.dispose();
      m.dispose();
    }
    tf.dispose([x, ref]);
    disposeNetwork(net);
  });
});
