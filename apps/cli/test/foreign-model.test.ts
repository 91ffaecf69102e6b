import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tfjs from '@tensorflow/tfjs';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lowbit, saveLayersModel } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'lowbit-foreign-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Four classes of 16×16 RGB images: a bright square (random position) tinted red, green, blue or
 * grey on dark noise. The colour, not the position, is the class, so the model below (global
 * average pooling) can learn it.
 */
function writeImages(root: string, perClass: number, seed: number): void {
  let s = seed;
  const rnd = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
  const tints = [
    [1, 0.2, 0.2],
    [0.2, 1, 0.2],
    [0.2, 0.2, 1],
    [0.8, 0.8, 0.8],
  ];
  for (let k = 0; k < 4; k++) {
    mkdirSync(join(root, `class${k}`), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const p = new PNG({ width: 16, height: 16 });
      const x0 = Math.floor(rnd() * 8);
      const y0 = Math.floor(rnd() * 8);
      for (let y = 0; y < 16; y++)
        for (let x = 0; x < 16; x++) {
          const inSquare = x >= x0 && x < x0 + 8 && y >= y0 && y < y0 + 8;
          const v = inSquare ? 200 + 50 * rnd() : 60 * rnd();
          const t = inSquare ? tints[k]! : [1, 1, 1];
          p.data.set([v * t[0]!, v * t[1]!, v * t[2]!, 255], (y * 16 + x) * 4);
        }
      writeFileSync(join(root, `class${k}`, `${i}.png`), PNG.sync.write(p));
    }
  }
}

beforeAll(async () => {
  writeImages(join(dir, 'train'), 16, 1);
  writeImages(join(dir, 'test'), 8, 2);
  // a Keras-style model nobody in this project trained: conv-BN-ReLU, a residual block, GAP, dense
  const inp = tfjs.input({ shape: [16, 16, 3] });
  let x = tfjs.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: tfjs.initializers.glorotUniform({ seed: 11 }) }).apply(inp) as tfjs.SymbolicTensor;
  x = tfjs.layers.batchNormalization().apply(x) as tfjs.SymbolicTensor;
  x = tfjs.layers.reLU().apply(x) as tfjs.SymbolicTensor;
  const h = tfjs.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: tfjs.initializers.glorotUniform({ seed: 12 }) }).apply(x) as tfjs.SymbolicTensor;
  x = tfjs.layers.add().apply([x, h]) as tfjs.SymbolicTensor;
  x = tfjs.layers.maxPooling2d({ poolSize: 2 }).apply(x) as tfjs.SymbolicTensor;
  x = tfjs.layers.globalAveragePooling2d({}).apply(x) as tfjs.SymbolicTensor;
  const out = tfjs.layers.dense({ units: 4, activation: 'softmax', kernelInitializer: tfjs.initializers.glorotUniform({ seed: 13 }) }).apply(x) as tfjs.SymbolicTensor;
  const model = tfjs.model({ inputs: inp, outputs: out });
  model.compile({ optimizer: tfjs.train.adam(0.01), loss: 'categoricalCrossentropy' });
  // a quick fit on the images so that the classes are learnt (seeded initialisers, no shuffling: reproducible)
  const xs: number[] = [];
  const ys: number[] = [];
  // classes interleaved, so that every batch holds all four (fit does not shuffle: reproducible)
  for (let i = 0; i < 16; i++) {
    for (let k = 0; k < 4; k++) {
      const p = PNG.sync.read(readFileSync(join(dir, 'train', `class${k}`, `${i}.png`)));
      for (let j = 0; j < 256; j++) xs.push(p.data[4 * j]! / 255, p.data[4 * j + 1]! / 255, p.data[4 * j + 2]! / 255);
      ys.push(...[0, 1, 2, 3].map((c) => (c === k ? 1 : 0)));
    }
  }
  await model.fit(tfjs.tensor4d(xs, [64, 16, 16, 3]), tfjs.tensor2d(ys, [64, 4]), { epochs: 30, batchSize: 16, verbose: 0, shuffle: false });
  await saveLayersModel(model, join(dir, 'model'));
}, 300_000);

describe("a user's own TF.js LayersModel, end to end with the CLI's defaults", () => {
  it('ptq with only --model and --calib: accuracy is skipped with a reason, agreement is reported; export loads in stock tfjs', async () => {
    const m = join(dir, 'model', 'model.json');
    const p = lowbit('ptq', '--model', m, '--calib', join(dir, 'train'), '--calib-size', '64', '--iters', '30', '--out', join(dir, 'q'), '--json');
    expect(p.status, p.stderr).toBe(0);
    const r = JSON.parse(p.stdout);
    expect(r.method).toBe('nwq');
    expect(r.fp32Accuracy).toBeNull();
    expect(r.testNote).toMatch(/28×28×1, the model takes 16×16×3: accuracy not measured/);
    expect(r.calibrationAgreement).toBeGreaterThan(0.7);
    const t = lowbit('ptq', '--model', m, '--calib', join(dir, 'train'), '--calib-size', '64', '--iters', '30', '--test', join(dir, 'test'), '--out', join(dir, 'q2'), '--json');
    expect(t.status, t.stderr).toBe(0);
    const tr = JSON.parse(t.stdout);
    expect(tr.testImages).toBe(32);
    expect(tr.fp32Accuracy).toBeGreaterThan(0.5);
    expect(tr.quantizedAccuracy).toBeGreaterThan(0.5);
    const e = lowbit('export', '--model', join(dir, 'q2', 'model.json'), '--out', join(dir, 'tfjs'), '--json');
    expect(e.status, e.stderr).toBe(0);
    const j = JSON.parse(readFileSync(join(dir, 'tfjs', 'model.json'), 'utf8'));
    const bin = readFileSync(join(dir, 'tfjs', 'group1-shard1of1.bin'));
    const loaded = await tfjs.loadLayersModel({ load: async () => ({ modelTopology: j.modelTopology, weightSpecs: j.weightsManifest[0].weights, weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) }) });
    expect(loaded.outputs[0]!.shape).toEqual([null, 4]);
  }, 600_000);
});
