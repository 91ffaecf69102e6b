import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, Rng } from '@lowbit/core';
import { bundledTestSet, makeBatch, subset } from '@lowbit/data';
import { disposeNetwork, forward } from '@lowbit/nn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quantizedReference } from './quantized-fixture.js';
import { exportGraphModel, exportLayersModel, writeTfjsExport } from '../src/index.js';
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
    it(`${format}: per-channel kernels are stored as float32 (exact) or float16, and the report and manifest say so`, async () => {
      const { net, grids } = quantizedReference('resnet-fm', 4, 'channel');
      const e32 = exportFn(net, { grids });
      const k = e32.weights.find((w) => w.name === kernel)!;
      expect(k.storedAs).toBe('float32');
      expect(k.note).toMatch(/per-channel grid: not representable in the stock manifest, stored as float32 \(exact\); use --granularity tensor/);
      const e16 = exportFn(net, { grids, perChannel: 'float16' });
      expect(e16.weights.find((w) => w.name === kernel)!.storedAs).toBe('float16');
      expect(e16.weightData.length).toBeLessThan(0.6 * e32.weightData.length);
      const p32 = writeTfjsExport(join(dir, `${format}-c32`), e32).modelJson;
      const p16 = writeTfjsExport(join(dir, `${format}-c16`), e16).modelJson;
      const manifestKernels = (p: string) => (JSON.parse(readFileSync(p, 'utf8')).weightsManifest[0].weights as Array<{ name: string; dtype: string; quantization?: { dtype: string } }>).filter((w) => w.name.endsWith('kernel'));
      expect(manifestKernels(p32).length).toBe(Object.keys(grids).length);
      expect(manifestKernels(p32).every((w) => w.dtype === 'float32' && w.quantization === undefined)).toBe(true);
      expect(manifestKernels(p16).every((w) => w.quantization?.dtype === 'float16')).toBe(true);
      const m32 = await load(p32);
      const m16 = await load(p16);
      const x = new Rng(3).uniform([8, 28, 28, 1]);
      const ref = tf.tidy(() => forward(net, x).output);
      const [d32, d16] = tf.tidy(() => [m32, m16].map((m) => tf.max(tf.abs(tf.sub(ref, m.predict(x) as tf.Tensor))).dataSync()[0]!));
      expect(d32).toBeLessThan(1e-4);
      expect(d16).toBeLessThan(0.05);
      tf.dispose([x, ref]);
      m32.dispose();
      m16.dispose();
      disposeNetwork(net);
    }, 120_000);
  }
});
