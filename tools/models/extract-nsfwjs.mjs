#!/usr/bin/env node
// Turns one of the models nsfwjs ships (browserified ESM files holding model.json and base64
// weight shards) into a plain TF.js model directory: model.json + one .bin per shard.
//
//   npm pack nsfwjs@4.2.1 && tar xzf nsfwjs-4.2.1.tgz
//   node tools/models/extract-nsfwjs.mjs package/dist/esm/models/mobilenet_v2 out/mobilenet_v2
//
// Nothing is converted: the topology, the weight manifest (uint8-quantized entries included) and
// the bytes are written as nsfwjs ships them.
import { mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [src, out] = process.argv.slice(2);
if (!src || !out) {
  console.error('usage: extract-nsfwjs.mjs <nsfwjs model dir (dist/esm/models/NAME)> <out dir>');
  process.exit(2);
}
const model = (await import(pathToFileURL(resolve(src, 'model.min.js')).href)).default;
if (!model?.modelTopology || !Array.isArray(model.weightsManifest)) {
  console.error(`${src}/model.min.js: expected a default export with modelTopology and weightsManifest`);
  process.exit(2);
}
const shards = readdirSync(src).filter((f) => /^group\d+-shard\d+of\d+\.min\.js$/.test(f)).sort();
const tmp = `${out}.tmp-${process.pid}`;
mkdirSync(tmp, { recursive: true });
const paths = [];
for (const f of shards) {
  const b64 = (await import(pathToFileURL(resolve(src, f)).href)).default;
  const name = f.replace(/\.min\.js$/, '.bin');
  writeFileSync(join(tmp, name), Buffer.from(b64, 'base64'));
  paths.push(name);
}
// the manifest names shards without an extension ('group1-shard1of1'): point it at the written .bin files
const manifest = model.weightsManifest.map((g) => ({
  ...g,
  paths: g.paths.map((p) => {
    const f = `${p.replace(/\.(bin|min\.js)$/, '')}.bin`;
    if (!paths.includes(f)) throw new Error(`${src}: the manifest names shard '${p}', which is not among ${paths.join(', ')}`);
    return f;
  }),
}));
const format = model.format ?? ('node' in model.modelTopology ? 'graph-model' : 'layers-model');
const json = { format, generatedBy: 'nsfwjs (extracted by lowbit tools/models/extract-nsfwjs.mjs)', convertedBy: null, modelTopology: model.modelTopology, weightsManifest: manifest };
writeFileSync(join(tmp, 'model.json'), JSON.stringify(json));
renameSync(tmp, out);
console.log(`${out}/model.json + ${paths.join(', ')}`);
