#!/usr/bin/env node
// Makes the Fashion-MNIST files bundled in packages/data/bundled/fashion-mnist from the real
// data set (Debian's dataset-fashion-mnist, or --data DIR): the test set as is, and a calibration
// subset of the first 1,024 training images (indices 0..1023) with their labels.
// Usage: node tools/data/make-bundled-fashion-mnist.mjs [--data DIR] [--count 1024]
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const src = opt('--data', '/usr/share/datasets/fashion-mnist');
const count = Number(opt('--count', '1024'));
const out = new URL('../../packages/data/bundled/fashion-mnist/', import.meta.url).pathname;
mkdirSync(out, { recursive: true });

function firstN(file, n) {
  const raw = gunzipSync(readFileSync(join(src, file)));
  const rank = raw[3];
  const header = Buffer.from(raw.subarray(0, 4 + 4 * rank));
  const per = [...Array(rank - 1).keys()].reduce((a, i) => a * header.readUInt32BE(8 + 4 * i), 1);
  header.writeUInt32BE(n, 4);
  return gzipSync(Buffer.concat([header, raw.subarray(4 + 4 * rank, 4 + 4 * rank + n * per)]), { level: 9 });
}

for (const f of ['t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz']) copyFileSync(join(src, f), join(out, f));
writeFileSync(join(out, `calib${count}-images-idx3-ubyte.gz`), firstN('train-images-idx3-ubyte.gz', count));
writeFileSync(join(out, `calib${count}-labels-idx1-ubyte.gz`), firstN('train-labels-idx1-ubyte.gz', count));
console.log(`wrote ${out}`);
