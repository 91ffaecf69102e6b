import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, Rng, sgd } from '@lowbit/core';
import { bundledCalibrationSet, makeBatch, subset } from '@lowbit/data';
import { referenceSpec } from '@lowbit/models';
import { createNetwork, disposeNetwork, type Network, paramMap } from '@lowbit/nn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TrainConfig, trainClassifier } from '../src/train/train-loop.js';
import { trainStep } from '../src/train/step.js';

const dir = mkdtempSync(join(tmpdir(), 'lowbit-train-'));
beforeAll(() => initBackend({ backend: 'wasm', fallback: false }));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config: TrainConfig = {
  model: 'resnet-fm',
  epochs: 2,
  batchSize: 16,
  lr: 0.05,
  optimizer: 'sgd',
  momentum: 0.9,
  nesterov: true,
  weightDecay: 5e-4,
  warmupEpochs: 0.5,
  seed: 7,
  cropPadding: 2,
  flip: true,
  data: 'bundled',
  trainLimit: 64,
};

function weights(net: Network): Map<string, Float32Array> {
  return new Map(Object.entries(paramMap(net, 'all')).map(([k, v]) => [k, v.dataSync().slice() as Float32Array]));
}

describe('training loop', () => {
  const train = subset(bundledCalibrationSet(), 64);

  it('lowers the loss on a small subset in a few steps', () => {
    const net = createNetwork(referenceSpec('resnet-fm'), { seed: 1 });
    const opt = sgd({ lr: 0.05, momentum: 0.9 });
    const b = makeBatch(train, Int32Array.from({ length: 32 }, (_, i) => i));
    const first = trainStep(net, opt, b.x, b.y).loss;
    let last = first;
    for (let i = 0; i < 15; i++) last = trainStep(net, opt, b.x, b.y).loss;
    expect(last).toBeLessThan(0.5 * first);
    tf.dispose([b.x, b.y]);
    opt.dispose();
    disposeNetwork(net);
  });

  it('resuming from a checkpoint gives the same weights as an uninterrupted run', async () => {
    const full = await trainClassifier({ config, train, test: null, outDir: join(dir, 'full'), resume: false });
    expect(full.completedEpochs).toBe(2);
    expect(existsSync(join(dir, 'full', 'model.json'))).toBe(true);
    // first run stops after one epoch (the stop is requested at the first step of epoch 2)
    let steps = 0;
    const controller = new AbortController();
    const half = await trainClassifier({
      config,
      train,
      test: null,
      outDir: join(dir, 'split'),
      resume: false,
      // the stop comes through an AbortSignal (shouldStop works the same way)
      signal: controller.signal,
      callbacks: { onStep: () => void (++steps >= 4 && controller.abort()) },
    });
    expect(half.stopped).toBe(true);
    expect(half.completedEpochs).toBe(1);
    expect(existsSync(join(dir, 'split', 'model.json'))).toBe(false);
    const latest = JSON.parse(readFileSync(join(dir, 'split', 'checkpoints', 'latest.json'), 'utf8'));
    expect(latest).toEqual({ checkpoint: 'epoch-0001', epoch: 1 });
    disposeNetwork(half.net);
    const resumed = await trainClassifier({ config, train, test: null, outDir: join(dir, 'split'), resume: true });
    expect(resumed.completedEpochs).toBe(2);
    const a = weights(full.net);
    const b = weights(resumed.net);
    expect([...b.keys()]).toEqual([...a.keys()]);
    for (const [k, va] of a) {
      const vb = b.get(k)!;
      for (let i = 0; i < va.length; i++) expect(Math.abs(va[i]! - vb[i]!), k).toBeLessThanOrEqual(1e-6);
    }
    expect(resumed.history.map((h) => h['trainLoss'])).toEqual(full.history.map((h) => h['trainLoss']));
    disposeNetwork(full.net);
    disposeNetwork(resumed.net);
  });

  it('--resume without a checkpoint, or with any other setting (each named by its flag), is a clear error and leaks nothing', async () => {
    await expect(trainClassifier({ config, train, test: null, outDir: join(dir, 'none'), resume: true })).rejects.toThrow(/no checkpoint in/);
    const before = tf.memory().numTensors;
    const refused = (c: Partial<typeof config>) => trainClassifier({ config: { ...config, ...c }, train, test: null, outDir: join(dir, 'full'), resume: true });
    await expect(refused({ epochs: 3 })).rejects.toThrow(/--epochs is 3 here but 2 in the checkpoint/);
    // these were replaced by the checkpoint's without a word
    await expect(refused({ lr: config.lr * 2 })).rejects.toThrow(new RegExp(`--lr is ${config.lr * 2} here but ${config.lr} in the checkpoint`));
    await expect(refused({ batchSize: config.batchSize * 2 })).rejects.toThrow(new RegExp(`--batch is ${config.batchSize * 2} here but ${config.batchSize} in the checkpoint`));
    await expect(refused({ flip: !config.flip })).rejects.toThrow(/flipping \(--no-flip\) is (on|off) here but (on|off) in the checkpoint/);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('does not leak tensors over 200 training steps', () => {
    const net = createNetwork(referenceSpec('resnet-fm'), { seed: 2 });
    const opt = sgd({ lr: 0.01, momentum: 0.9, nesterov: true, weightDecay: 5e-4 });
    const rng = new Rng(3);
    const step = () => {
      const b = makeBatch(train, rng.permutation(64).subarray(0, 4), { augment: { cropPadding: 2, flip: true, rng } });
      trainStep(net, opt, b.x, b.y);
      tf.dispose([b.x, b.y]);
    };
    step();
    const baseline = tf.memory().numTensors;
    for (let i = 0; i < 200; i++) step();
    expect(tf.memory().numTensors).toBe(baseline);
    opt.dispose();
    disposeNetwork(net);
  });
});
