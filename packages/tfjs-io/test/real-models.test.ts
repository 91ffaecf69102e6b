import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, Rng } from '@lowbit/core';
import { disposeNetwork, forward, quantizableLayers } from '@lowbit/nn';
import { dequantizeHardened, quantizeNetwork } from '@lowbit/quantizers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportGraphModel, importTfjsModel, type LayerGrids, writeTfjsExport } from '../src/index.node.js';
import { stockGraph } from './stock-load.js';

// Real models shipped with the tests (fixtures/human-models/README.md): import fidelity against
// stock tf.loadGraphModel, and a quantized export that stock tfjs loads.
const fixtures = fileURLToPath(new URL('./fixtures/human-models/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'lowbit-real-'));
beforeAll(() => initBackend({ backend: 'wasm', fallback: false }));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Smooth image-like inputs in [0, 1] (gradients plus seeded noise) of the model's input shape. */
function images(shape: number[], n: number): tf.Tensor {
  const [h, w, c] = shape as [number, number, number];
  return tf.tidy(() => {
    const yy = tf.reshape(tf.linspace(0, 1, h), [1, h, 1, 1]);
    const xx = tf.reshape(tf.linspace(0, 1, w), [1, 1, w, 1]);
    const base = tf.mul(tf.add(yy, xx), 0.5);
    return tf.clipByValue(tf.add(tf.mul(base, tf.ones([n, h, w, c])), tf.mul(new Rng(3).uniform([n, h, w, c]), 0.3)), 0, 1);
  });
}

const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(tf.reshape(a, b.shape), b))).dataSync()[0]!);

describe('real TF.js models (shipped fixtures)', () => {
  for (const [name, outputs, layers] of [
    ['age', 1, 32],
    ['selfie', 1, 55],
    ['blazeface', 4, 69],
  ] as const) {
    it(`${name}: imports to exactly stock tfjs's outputs; an 8-bit per-channel export loads in stock tfjs and keeps the quantized model's outputs`, async () => {
      const path = join(fixtures, `${name}.json`);
      expect(JSON.parse(readFileSync(path, 'utf8')).format).toBe('graph-model');
      const net = importTfjsModel(path);
      expect(quantizableLayers(net)).toHaveLength(layers);
      const stock = await stockGraph(path);
      const x = images(net.inputShape, 1); // (selfie and blazeface have a fixed batch of 1)
      const refs = [stock.predict(x) as tf.Tensor | tf.Tensor[]].flat();
      expect(refs).toHaveLength(outputs);
      const r = forward(net, x);
      const got = r.outputs ?? [r.output];
      // the same ops in the same order as stock tfjs: bit for bit
      for (const [i, ref] of refs.entries()) expect(maxDiff(got[i]!, ref)).toBe(0);
      // RTN W8 per channel, then the default stock export (integer codes, float16 scales)
      const q = quantizeNetwork(net, [x], { wBits: 8, aBits: 8 });
      const grids: LayerGrids = {};
      for (const [layer, h] of q.harden()) {
        q.net.params[layer]!['kernel']!.assign(tf.tensor(dequantizeHardened(h), h.shape));
        grids[layer] = { bits: h.bits, axis: h.axis, scale: Array.from(h.scale) };
      }
      const e = exportGraphModel(q.net, { grids });
      expect(e.weights.filter((w) => w.name.endsWith('/kernel')).every((w) => w.storedAs === 'uint8')).toBe(true);
      const back = await stockGraph(writeTfjsExport(join(dir, name), e).modelJson);
      const again = [back.predict(x) as tf.Tensor | tf.Tensor[]].flat();
      const weightOnly = forward(q.net, x);
      const want = weightOnly.outputs ?? [weightOnly.output];
      for (const [i, w] of want.entries()) {
        const scale = tf.tidy(() => tf.max(tf.abs(w)).dataSync()[0]!);
        expect(maxDiff(again[i]!, w) / Math.max(scale, 1e-6)).toBeLessThan(2e-2);
      }
      tf.dispose([x, ...refs, r.output, ...(r.outputs ?? []), ...again, weightOnly.output, ...(weightOnly.outputs ?? [])]);
      stock.dispose();
      back.dispose();
      q.dispose();
      disposeNetwork(net);
    }, 120_000);
  }
});
