import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tfjs from '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, Rng } from '@lowbit/core';
import { bundledTestSet, makeBatch, subset } from '@lowbit/data';
import { disposeNetwork, forward } from '@lowbit/nn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quantizedResnet } from './quantized-fixture.js';
import { exportLayersModel, writeTfjsExport } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'lowbit-export-'));
beforeAll(() => initBackend({ backend: 'wasm', fallback: false }));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Loads an exported model with stock tfjs (no lowbit code involved). */
async function stockLoad(modelJson: string): Promise<tfjs.LayersModel> {
  const j = JSON.parse(readFileSync(modelJson, 'utf8'));
  const bin = readFileSync(join(modelJson, '..', j.weightsManifest[0].paths[0]));
  return tfjs.loadLayersModel({
    load: async () => ({ modelTopology: j.modelTopology, weightSpecs: j.weightsManifest[0].weights, weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) }),
  });
}


describe('export to stock TF.js', () => {
  const test = () => makeBatch(subset(bundledTestSet(), 1000), Int32Array.from({ length: 1000 }, (_, i) => i));

  for (const bits of [8, 4]) {
    it(`a per-tensor W${bits} resnet-fm: uint8 manifest, stock tfjs predictions equal lowbit's (argmax 100%, logits < 1e-4)`, async () => {
      const { net, grids } = quantizedResnet(bits, 'tensor');
      const e = exportLayersModel(net, { grids });
      const kernels = e.weights.filter((w) => w.name.endsWith('kernel'));
      expect(kernels.every((w) => w.storedAs === 'uint8')).toBe(true);
      const { modelJson } = writeTfjsExport(join(dir, `t${bits}`), e);
      const model = await stockLoad(modelJson);
      const b = test();
      const ref = tf.tidy(() => forward(net, b.x).output);
      const got = model.predict(b.x) as tf.Tensor;
      const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(ref, got))).dataSync()[0]!);
      expect(diff).toBeLessThan(1e-4);
      const agree = tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.argMax(ref, 1), tf.argMax(got, 1)), 'float32')).dataSync()[0]!);
      expect(agree).toBe(1);
      const fp32Bytes = 4 * Object.values(net.params).reduce((s, p) => s + Object.values(p).reduce((a, v) => a + v.size, 0), 0);
      expect(statSync(join(dir, `t${bits}`, 'group1-shard1of1.bin')).size).toBeLessThan(fp32Bytes / 3);
      tf.dispose([b.x, b.y, ref, got]);
      model.dispose();
      disposeNetwork(net);
    }, 120_000);
  }

  it('per-channel kernels are stored as float32 (exact) or float16, and the report says so', async () => {
    const { net, grids } = quantizedResnet(4, 'channel');
    const e32 = exportLayersModel(net, { grids });
    const k = e32.weights.find((w) => w.name === 'block1_conv1/kernel')!;
    expect(k.storedAs).toBe('float32');
    expect(k.note).toMatch(/per-channel grid: not representable in the stock manifest, stored as float32 \(exact\); use --granularity tensor/);
    const e16 = exportLayersModel(net, { grids, perChannel: 'float16' });
    expect(e16.weights.find((w) => w.name === 'block1_conv1/kernel')!.storedAs).toBe('float16');
    expect(e16.weightData.length).toBeLessThan(0.6 * e32.weightData.length);
    const m32 = await stockLoad(writeTfjsExport(join(dir, 'c32'), e32).modelJson);
    const m16 = await stockLoad(writeTfjsExport(join(dir, 'c16'), e16).modelJson);
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
});
