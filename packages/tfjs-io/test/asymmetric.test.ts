import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tfjs from '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@lowbit/core';
import { bundledTestSet, makeBatch, subset } from '@lowbit/data';
import { disposeNetwork, forward, type Network } from '@lowbit/nn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quantizedReference } from './quantized-fixture.js';
import { codesOnGrid, exportGraphModel, exportLayersModel, exportPacked, type TfjsExport, writeTfjsExport } from '../src/index.node.js';
import { packedHandler } from '../src/packed/index.node.js';
import { stockGraph, stockLayers } from './stock-load.js';

const dir = mkdtempSync(join(tmpdir(), 'lowbit-asym-'));
beforeAll(() => initBackend({ backend: 'wasm', fallback: false }));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const memory = (e: TfjsExport) => ({ modelJson: e.modelJson, weights: e.weightData.slice().buffer });

/** Max |logit difference| and argmax agreement of a stock-loaded model against lowbit's forward. */
function compare(net: Network, predict: (x: tf.Tensor) => tf.Tensor) {
  const b = makeBatch(subset(bundledTestSet(), 500), Int32Array.from({ length: 500 }, (_, i) => i));
  const ref = tf.tidy(() => forward(net, b.x).output);
  const got = predict(b.x);
  const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(ref, got))).dataSync()[0]!);
  const agree = tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.argMax(ref, 1), tf.argMax(got, 1)), 'float32')).dataSync()[0]!);
  tf.dispose([b.x, b.y, ref, got]);
  return { diff, agree };
}

describe('asymmetric weight grids (a zero point per channel) in every export target', () => {
  it('the grids have zero points, the codes span [−z, 2^b − 1 − z], and a symmetric range check would reject them', () => {
    const { net, grids } = quantizedReference('mbv2-fm', 2, 'channel', 'asymmetric');
    const low = Object.entries(grids).filter(([, g]) => g.bits === 2);
    expect(low.length).toBeGreaterThan(5);
    let beyond = 0;
    for (const [name, g] of low) {
      expect(g.zeroPoint).toHaveLength(g.scale.length);
      expect(g.zeroPoint!.every((z) => Number.isInteger(z) && z >= 0 && z <= 3)).toBe(true);
      const k = net.params[name]!['kernel']!;
      const c = codesOnGrid(name, k.shape, k.dataSync() as Float32Array, g);
      // 2-bit symmetric codes are −2..1; an asymmetric grid reaches 2 or 3 where z ≤ 1
      beyond += c.filter((v) => v > 1).length;
      const { zeroPoint: _z, ...symmetric } = g;
      if (c.some((v) => v > 1 || v < -2)) expect(() => codesOnGrid(name, k.shape, k.dataSync() as Float32Array, symmetric)).toThrow(/outside the 2-bit range -2..1/);
    }
    expect(beyond).toBeGreaterThan(0);
    const [name, g] = low[0]!;
    const k = net.params[name]!['kernel']!;
    expect(() => codesOnGrid(name, k.shape, k.dataSync() as Float32Array, { ...g, zeroPoint: g.zeroPoint!.map(() => 4) })).toThrow(/zeroPoint\[0\] must be an integer 0..3, got 4/);
    expect(() => codesOnGrid(name, k.shape, k.dataSync() as Float32Array, { ...g, zeroPoint: [1] })).toThrow(/zeroPoint must be a list of \d+ integer\(s\)/);
    disposeNetwork(net);
  });

  for (const [bits, granularity] of [[2, 'channel'], [4, 'channel'], [4, 'tensor']] as const) {
    it(`W${bits} per ${granularity}: stock LayersModel, stock GraphModel and lowbit-packed predict as lowbit does`, async () => {
      const { net, grids } = quantizedReference('mbv2-fm', bits, granularity, 'asymmetric');
      expect(Object.values(grids).some((g) => g.zeroPoint?.some((z) => z !== 0))).toBe(true);
      const layers = exportLayersModel(net, { grids });
      const graph = exportGraphModel(net, { grids });
      const packed = exportPacked(net, { grids });
      // no float32 kernels: codes in uint8 (stock) — an 8-bit asymmetric per-channel kernel whose codes c = q − z span more than 256 values in float16 (exact) — or bit-packed
      for (const e of [layers, graph]) {
        const kernels = e.weights.filter((w) => /kernel$/.test(w.name) && !/scale/.test(w.name));
        expect(kernels.length).toBe(Object.keys(grids).length);
        expect(kernels.every((w) => w.storedAs === 'uint8' || (w.storedAs === 'float16' && grids[w.layer!]!.bits === 8 && granularity === 'channel'))).toBe(true);
        expect(kernels.filter((w) => grids[w.layer!]!.bits < 8).every((w) => w.storedAs === 'uint8')).toBe(true);
      }
      expect(packed.weights.filter((w) => w.storedAs === 'packed').every((w) => granularity === 'tensor' || /zero point/.test(w.note!))).toBe(true);
      const m1 = await stockLayers(writeTfjsExport(join(dir, `l${bits}${granularity}`), layers).modelJson);
      const m2 = await stockGraph(writeTfjsExport(join(dir, `g${bits}${granularity}`), graph).modelJson);
      const m3 = await tfjs.loadLayersModel(packedHandler(memory(packed)));
      for (const [what, m] of [['layers', m1], ['graph', m2], ['packed', m3]] as const) {
        const { diff, agree } = compare(net, (x) => m.predict(x) as tf.Tensor);
        // float16 per-channel scales in the stock exports: a few 1e-3 on logits of ~10; packed is exact
        expect(diff, what).toBeLessThan(what === 'packed' || granularity === 'tensor' ? 1e-4 : 0.05);
        expect(agree, what).toBeGreaterThanOrEqual(what === 'packed' || granularity === 'tensor' ? 1 : 0.99);
      }
      for (const m of [m1, m3]) m.dispose();
      m2.dispose();
      disposeNetwork(net);
    }, 120_000);
  }
});
