import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tfjs from '@tensorflow/tfjs';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lowbit, saveLayersModel } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'lowbit-channel-order-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** 12×10 images (the model takes 8×8: they are resized) of one colour, in folders `blue/` and `red/`. */
function writeImages(root: string): void {
  for (const [cls, rgb] of [
    ['blue', [20, 40, 230]],
    ['red', [230, 40, 20]],
  ] as const) {
    mkdirSync(join(root, cls), { recursive: true });
    for (let i = 0; i < 4; i++) {
      const p = new PNG({ width: 12, height: 10 });
      for (let j = 0; j < 120; j++) p.data.set([rgb[0] - 3 * i, rgb[1], rgb[2] - 2 * i, 255], 4 * j);
      writeFileSync(join(root, cls, `${i}.png`), PNG.sync.write(p));
    }
  }
}

beforeAll(async () => {
  writeImages(join(dir, 'images'));
  // An RGB model with set weights: class 0 ('blue', the first sub-folder) reads channel 2, class 1
  // ('red') channel 0 — right on RGB input, always wrong on BGR input.
  const inp = tfjs.input({ shape: [8, 8, 3] });
  const conv = tfjs.layers.conv2d({ filters: 3, kernelSize: 1, weights: [tfjs.eye(3).reshape([1, 1, 3, 3]), tfjs.zeros([3])] });
  let x = conv.apply(inp) as tfjs.SymbolicTensor;
  x = tfjs.layers.reLU().apply(x) as tfjs.SymbolicTensor;
  x = tfjs.layers.globalAveragePooling2d({}).apply(x) as tfjs.SymbolicTensor;
  const dense = tfjs.layers.dense({ units: 2, weights: [tfjs.tensor2d([0, 1, 0, 0, 1, 0], [3, 2]), tfjs.zeros([2])] });
  const model = tfjs.model({ inputs: inp, outputs: dense.apply(x) as tfjs.SymbolicTensor });
  await saveLayersModel(model, join(dir, 'model'));
});

describe('lowbit ptq --channel-order (image folders, 3-channel models)', () => {
  const ptq = (out: string, ...extra: string[]) =>
    lowbit('ptq', '--model', join(dir, 'model', 'model.json'), '--method', 'rtn', '--calib', join(dir, 'images'), '--calib-size', '8', '--test', join(dir, 'images'), '--out', join(dir, out), '--json', ...extra);

  it('rgb (default) feeds the images as RGB; bgr swaps red and blue for calibration and test images', () => {
    const rgb = ptq('rgb');
    expect(rgb.status, rgb.stderr).toBe(0);
    const r = JSON.parse(rgb.stdout);
    expect(r.channelOrder).toBe('rgb');
    expect(r.testImages).toBe(8);
    expect(r.fp32Accuracy).toBe(1);
    expect(r.quantizedAccuracy).toBe(1);
    const bgr = ptq('bgr', '--channel-order', 'bgr');
    expect(bgr.status, bgr.stderr).toBe(0);
    const b = JSON.parse(bgr.stdout);
    expect(b.channelOrder).toBe('bgr');
    expect(b.fp32Accuracy).toBe(0);
    expect(b.quantizedAccuracy).toBe(0);
  }, 300_000);

  it('rejects anything but rgb or bgr before any work', () => {
    const p = ptq('bad', '--channel-order', 'brg');
    expect(p.status).toBe(2);
    expect(p.stderr).toMatch(/--channel-order must be rgb or bgr, got 'brg'/);
  });
});
