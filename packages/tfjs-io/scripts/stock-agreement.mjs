#!/usr/bin/env node
// Size on disk and top-1 agreement, in stock TF.js, of exported models against a reference model:
// each model.json is loaded with unmodified tf.loadLayersModel / tf.loadGraphModel (wasm backend)
// and run on the same images as the reference. Prints one row per model: bytes (model.json +
// weight files), weight bytes, and agreement with the reference's top-1 on a flattened output.
//   node packages/tfjs-io/scripts/stock-agreement.mjs --reference ref/model.json --images DIR [--range -1,1] [--n 300] export/model.json…
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as tfjs from '@tensorflow/tfjs';
import { initBackend } from '@lowbit/core';
import { readImageFolder } from '@lowbit/data';

const args = process.argv.slice(2);
const opt = (k, d) => {
  const i = args.indexOf(k);
  if (i < 0) return d;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
};
const reference = opt('--reference');
const images = opt('--images');
const [lo, hi] = opt('--range', '0,1').split(',').map(Number);
const n = Number(opt('--n', '300'));
if (!reference || !images || args.length === 0) {
  console.error('usage: stock-agreement.mjs --reference model.json --images DIR [--range lo,hi] [--n 300] model.json…');
  process.exit(2);
}
await initBackend({ backend: 'wasm' });

/** A stock IOHandler for a model.json on disk and its weight files. */
function handler(path) {
  return {
    async load() {
      const j = JSON.parse(readFileSync(path, 'utf8'));
      const specs = j.weightsManifest.flatMap((g) => g.weights);
      const data = Buffer.concat(j.weightsManifest.flatMap((g) => g.paths.map((p) => readFileSync(join(dirname(path), p)))));
      return { modelTopology: j.modelTopology, weightSpecs: specs, weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength), format: j.format, signature: j.signature, userDefinedMetadata: j.userDefinedMetadata };
    },
  };
}
const load = (p) => (JSON.parse(readFileSync(p, 'utf8')).format === 'graph-model' ? tfjs.loadGraphModel(handler(p)) : tfjs.loadLayersModel(handler(p)));
const bytes = (p) => {
  const j = JSON.parse(readFileSync(p, 'utf8'));
  const w = j.weightsManifest.flatMap((g) => g.paths).reduce((s, f) => s + statSync(join(dirname(p), f)).size, 0);
  return { total: statSync(p).size + w, weights: w };
};

const ref = await load(reference);
const shape = (ref.inputs[0].shape ?? []).slice(1);
const set = readImageFolder(images, { size: [shape[0], shape[1]], channels: shape[2], limit: n, labelsFromSubfolders: false });
const top1 = (m) => {
  const out = [];
  for (let i = 0; i < set.size; i += 25) {
    const k = Math.min(25, set.size - i);
    const per = shape[0] * shape[1] * shape[2];
    const t = tfjs.tidy(() => {
      const x = tfjs.add(tfjs.mul(tfjs.tensor4d(Float32Array.from(set.images.subarray(i * per, (i + k) * per)), [k, ...shape]), (hi - lo) / 255), lo);
      const y = [m.predict(x)].flat()[0];
      return tfjs.argMax(tfjs.reshape(y, [k, -1]), 1);
    });
    out.push(...t.dataSync());
    t.dispose();
  }
  return out;
};
const want = top1(ref);
const rb = bytes(reference);
console.log(`| model | bytes on disk | weight bytes | top-1 agreement with the reference (${set.size} images) |`);
console.log('|---|---|---|---|');
console.log(`| ${reference} (reference) | ${rb.total} | ${rb.weights} | — |`);
for (const p of args) {
  const m = await load(p);
  const got = top1(m);
  const agree = got.filter((v, i) => v === want[i]).length / want.length;
  const b = bytes(p);
  console.log(`| ${p} | ${b.total} | ${b.weights} | ${(100 * agree).toFixed(2)}% |`);
  m.dispose();
}
