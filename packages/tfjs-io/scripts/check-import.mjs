#!/usr/bin/env node
// Import fidelity of real TF.js models: each model.json is imported into the lowbit IR and run on
// the same inputs as stock @tensorflow/tfjs (tf.loadGraphModel / tf.loadLayersModel, same wasm
// backend); prints one row per model: format, status (the importer's exact refusal when it fails),
// max |lowbit − stock| over all outputs, and that over max |stock| (rel). Run after `pnpm build`:
//
//   node packages/tfjs-io/scripts/check-import.mjs [--images DIR] [--n 4] [--json] model.json...
//
// Inputs: the first N images of DIR (PNG/JPEG, resized to the model's input, values in [0, 1]), or
// seeded uniform [0, 1) noise without --images. A model whose input size is not fixed gets 224×224.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as tfjs from '@tensorflow/tfjs';
import { initBackend, LowbitError, Rng } from '@lowbit/core';
import { readImageFolder } from '@lowbit/data';
import { disposeNetwork, forward } from '@lowbit/nn';
import { importTfjsModel } from '@lowbit/tfjs-io';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
};
const json = args.includes('--json') && args.splice(args.indexOf('--json'), 1).length > 0;
const images = opt('--images');
const n = Number(opt('--n', '4'));
if (args.length === 0 || !(n > 0)) {
  console.error('usage: check-import.mjs [--images DIR] [--n 4] [--json] model.json...');
  process.exit(2);
}
await initBackend({ backend: 'wasm', fallback: false });

const handler = (path) => ({
  load: async () =>
    tfjs.io.getModelArtifactsForJSON(JSON.parse(readFileSync(path, 'utf8')), async (manifest) => {
      const all = Buffer.concat(manifest.flatMap((g) => g.paths.map((p) => readFileSync(join(dirname(path), p)))));
      return [manifest.flatMap((g) => g.weights), all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength)];
    }),
});

/** The model's input as [h, w, c] from model.json (224×224 where a spatial size is open). */
function inputShape(path) {
  const j = JSON.parse(readFileSync(path, 'utf8'));
  let dims;
  if (j.format === 'graph-model' || j.modelTopology?.node) {
    const ph = j.modelTopology.node.find((x) => x.op === 'Placeholder');
    dims = (ph?.attr?.shape?.shape?.dim ?? []).map((d) => Number(d.size));
  } else {
    const cfg = j.modelTopology.model_config ?? j.modelTopology;
    const layers = cfg.config.layers ?? cfg.config;
    const l0 = layers[0].config;
    dims = l0.batch_input_shape ?? l0.batchInputShape ?? [null, ...(l0.input_shape ?? [])];
  }
  const [h, w, c] = dims.slice(1).map((d) => (d > 0 ? d : null));
  return { batch: dims[0] > 0 ? dims[0] : n, shape: [h ?? 224, w ?? 224, c ?? 3] };
}

/** `batch` inputs (a model with a fixed batch gets that many). */
function inputs({ batch, shape: [h, w, c] }) {
  if (!images || (c !== 1 && c !== 3)) return new Rng(1).uniform([batch, h, w, c]);
  const set = readImageFolder(images, { size: [h, w], channels: c, limit: batch, labelsFromSubfolders: false });
  return tfjs.tidy(() => tfjs.div(tfjs.tensor4d(Float32Array.from(set.images), [set.size, h, w, c]), 255));
}

const rows = [];
for (const path of args) {
  const row = { model: path, format: '', status: '', maxDiff: null, relDiff: null, outputs: 0 };
  try {
    const j = JSON.parse(readFileSync(path, 'utf8'));
    row.format = j.format ?? (j.modelTopology?.node ? 'graph-model' : 'layers-model');
    const net = importTfjsModel(path);
    const x = inputs(inputShape(path));
    const stock = row.format === 'graph-model' ? await tfjs.loadGraphModel(handler(path)) : await tfjs.loadLayersModel(handler(path));
    const ref = [stock.predict(x)].flat();
    const got = tfjs.tidy(() => {
      const r = forward(net, x);
      return r.outputs ?? [r.output];
    });
    row.outputs = ref.length;
    if (ref.length !== got.length || ref.some((r, i) => r.size !== got[i].size)) throw new Error(`outputs differ: stock [${ref.map((r) => r.shape.join('x'))}], lowbit [${got.map((r) => r.shape.join('x'))}]`);
    row.relDiff = Math.max(...ref.map((r, i) => tfjs.tidy(() => tfjs.div(tfjs.max(tfjs.abs(tfjs.sub(tfjs.reshape(got[i], r.shape), r))), tfjs.maximum(tfjs.max(tfjs.abs(r)), 1e-12)).dataSync()[0])));
    row.maxDiff = Math.max(...ref.map((r, i) => (got[i] && r.size === got[i].size ? tfjs.tidy(() => tfjs.max(tfjs.abs(tfjs.sub(tfjs.reshape(got[i], r.shape), r))).dataSync()[0]) : Number.POSITIVE_INFINITY)));
    row.status = 'imported';
    tfjs.dispose([x, ...ref, ...got]);
    stock.dispose();
    disposeNetwork(net);
  } catch (e) {
    row.status = e instanceof LowbitError ? `${e.code}: ${e.message.replace(`${path}: `, '')}` : `error: ${e.message}`;
  }
  rows.push(row);
  if (!json) console.log(`${row.model}\t${row.format}\t${row.maxDiff === null ? '—' : `${row.maxDiff.toExponential(1)} (rel ${row.relDiff.toExponential(1)})`}\t${row.status.split('\n').slice(0, 4).join(' ')}`);
}
if (json) console.log(JSON.stringify(rows, null, 1));
