#!/usr/bin/env node
// Checks a foreign model written by tools/foreign/train_fm.py: stock tf.loadLayersModel and lowbit's
// importer both reproduce the PyTorch logits stored beside it (check.json: t10k images 0..15).
//   node packages/tfjs-io/scripts/check-foreign.mjs runs/foreign/resnet/tfjs/model.json
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@lowbit/core';
import { forward, disposeNetwork } from '@lowbit/nn';
import { importTfjsModel } from '@lowbit/tfjs-io';

const path = process.argv[2];
if (!path) {
  console.error('usage: check-export.mjs model.json');
  process.exit(2);
}
await initBackend({ backend: 'wasm' });
const j = JSON.parse(readFileSync(path, 'utf8'));
const data = readFileSync(join(dirname(path), 'group1-shard1of1.bin'));
const stock = await tf.loadLayersModel({ load: async () => ({ modelTopology: j.modelTopology, weightSpecs: j.weightsManifest[0].weights, weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) }) });
const check = JSON.parse(readFileSync(join(dirname(path), 'check.json'), 'utf8'));
const raw = gunzipSync(readFileSync('/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz')).subarray(16, 16 + 16 * 784);
const x = tf.tensor4d(Float32Array.from(raw, (v) => v / 255), [16, 28, 28, 1]);
const ref = tf.tensor2d(check.logits);
const net = importTfjsModel(path);
const maxDiff = (a) => tf.max(tf.abs(tf.sub(a, ref))).dataSync()[0];
const out = { model: path, pytorchTop1: check.test_top1, maxAbsLogit: tf.max(tf.abs(ref)).dataSync()[0], stockVsPytorch: maxDiff(stock.predict(x)), lowbitVsPytorch: maxDiff(forward(net, x).output) };
console.log(JSON.stringify(out));
disposeNetwork(net);
process.exit(out.stockVsPytorch < 1e-4 && out.lowbitVsPytorch < 1e-4 ? 0 : 1);
