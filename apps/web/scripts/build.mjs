#!/usr/bin/env node
// Builds the page into apps/web/dist: the page, its worker and the replica worker bundled by esbuild (browser entries
// of the packages, no configuration), tfjs-backend-wasm's binaries under wasm/, and the demo —
// lowbit's resnet-fm exported as a stock TF.js LayersModel plus 200 Fashion-MNIST images as PNG
// (the bundled calibration subset) — so that the page works offline.
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { PNG } from 'pngjs';
import { initBackend } from '@lowbit/core';
import { wasmBinaries } from '@lowbit/core/node';
import { bundledCalibrationSet } from '@lowbit/data';
import { loadReference } from '@lowbit/models/node';
import { disposeNetwork } from '@lowbit/nn';
import { exportLayersModel, writeTfjsExport } from '@lowbit/tfjs-io';

const app = fileURLToPath(new URL('..', import.meta.url));
const dist = join(app, 'dist');
const DEMO_IMAGES = 200;
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });

await build({ entryPoints: { main: join(app, 'src/main.ts'), worker: join(app, 'src/worker.ts'), replica: join(app, 'src/replica.ts') }, outdir: dist, bundle: true, platform: 'browser', format: 'esm', target: 'es2022', minify: true, sourcemap: true, logLevel: 'warning' });
for (const f of ['index.html', 'style.css']) copyFileSync(join(app, f), join(dist, f));

const wasm = wasmBinaries();
mkdirSync(join(dist, 'wasm'));
for (const f of wasm.files) copyFileSync(join(wasm.dir, f), join(dist, 'wasm', f));

await initBackend();
const net = loadReference('resnet-fm');
writeTfjsExport(join(dist, 'demo', 'model'), exportLayersModel(net));
disposeNetwork(net);
const set = bundledCalibrationSet();
const [h, w] = set.imageShape;
mkdirSync(join(dist, 'demo', 'images'), { recursive: true });
const names = [];
for (let i = 0; i < DEMO_IMAGES; i++) {
  const png = new PNG({ width: w, height: h });
  for (let p = 0; p < h * w; p++) {
    const v = set.images[i * h * w + p];
    png.data.set([v, v, v, 255], 4 * p);
  }
  const name = `${String(i).padStart(3, '0')}.png`;
  writeFileSync(join(dist, 'demo', 'images', name), PNG.sync.write(png));
  names.push(name);
}
writeFileSync(join(dist, 'demo', 'images', 'index.json'), `${JSON.stringify(names)}\n`);
console.log(`built ${dist} (demo: resnet-fm, ${DEMO_IMAGES} images)`);
