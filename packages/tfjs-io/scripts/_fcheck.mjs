import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
const path = process.argv[2];
const j = JSON.parse(readFileSync(path, 'utf8'));
const data = readFileSync(join(dirname(path), 'group1-shard1of1.bin'));
const m = await tf.loadLayersModel({ load: async () => ({ modelTopology: j.modelTopology, weightSpecs: j.weightsManifest[0].weights, weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) }) });
const check = JSON.parse(readFileSync(join(dirname(path), 'check.json'), 'utf8'));
// t10k images 0..15
import { gunzipSync } from 'node:zlib';
const raw = gunzipSync(readFileSync('/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz')).subarray(16, 16 + 16 * 784);
const x = tf.tensor4d(Float32Array.from(raw, (v) => v / 255), [16, 28, 28, 1]);
const y = m.predict(x);
const ref = tf.tensor2d(check.logits);
console.log('max diff vs pytorch', tf.max(tf.abs(tf.sub(y, ref))).dataSync()[0], 'max |logit|', tf.max(tf.abs(ref)).dataSync()[0]);
