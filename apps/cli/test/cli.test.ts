import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { referenceMetadata } from '@lowbit/models/node';
import { lowbit } from './helpers.js';

describe('lowbit info (built CLI, plain node)', () => {
  it('trains a step of resnet-fm on wasm and reports its size', () => {
    const r = lowbit('info', '--batch', '4', '--repeats', '1', '--json');
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ model: 'resnet-fm', backend: 'wasm', params: 77_754, batch: 4 });
    expect(j.macsPerSample).toBeGreaterThan(9_000_000);
    for (const k of ['forwardMs', 'forwardBackwardMs', 'trainStepMs']) expect(j[k]).toBeGreaterThan(0);
  });

  it('rejects bad options with a clear message', () => {
    const r = lowbit('info', '--batch', 'zero');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/--batch must be a positive integer, got 'zero'/);
    const m = lowbit('info', '--model', 'vgg', '--repeats', '1');
    expect(m.status).toBe(2);
    expect(m.stderr).toMatch(/unknown reference model 'vgg'/);
  });
});

describe('lowbit eval of the bundled reference (built CLI, plain node, no dataset needed)', () => {
  it('prints the bundled resnet-fm accuracy on the bundled 10,000-image test set, at its recorded value', () => {
    const r = lowbit('eval', '--json');
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ model: 'resnet-fm', quantized: false, samples: 10_000 });
    const recorded = referenceMetadata('resnet-fm')['testAccuracy'] as number;
    expect(Math.abs(j.accuracy - recorded)).toBeLessThan(1e-9);
  }, 300_000);
});

describe('lowbit train and eval (built CLI, plain node)', () => {
  it('trains on the bundled subset, then evaluates the result as JSON', async () => {
    const { mkdtempSync, rmSync, existsSync: exists } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const out = mkdtempSync(join(tmpdir(), 'lowbit-cli-'));
    try {
      const t = lowbit('train', '--data', 'bundled', '--limit', '64', '--epochs', '1', '--batch', '32', '--no-eval', '--out', out);
      expect(t.status, t.stderr).toBe(0);
      expect(t.stderr).toMatch(/epoch 1\/1: train loss/);
      expect(exists(join(out, 'model.json'))).toBe(true);
      const e = lowbit('eval', '--model', join(out, 'model.json'), '--json');
      expect(e.status, e.stderr).toBe(0);
      const j = JSON.parse(e.stdout);
      expect(j.samples).toBe(10_000);
      expect(j.accuracy).toBeGreaterThanOrEqual(0);
      expect(j.accuracy).toBeLessThanOrEqual(1);
      expect(j.confusion.flat().reduce((a: number, b: number) => a + b, 0)).toBe(10_000);
      const again = lowbit('train', '--data', 'bundled', '--limit', '64', '--epochs', '1', '--batch', '32', '--no-eval', '--out', out, '--resume');
      expect(again.status, again.stderr).toBe(0);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('--threads 2 trains the same network as one thread (data parallelism, batch norm synchronised)', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { initBackend, maxRelError } = await import('@lowbit/core');
    const { loadNetwork } = await import('@lowbit/nn/node');
    const { paramMap, disposeNetwork } = await import('@lowbit/nn');
    await initBackend();
    const out = mkdtempSync(join(tmpdir(), 'lowbit-cli-threads-'));
    try {
      const args = ['train', '--data', 'bundled', '--limit', '96', '--epochs', '1', '--batch', '48', '--lr', '0.05', '--no-eval'];
      const one = lowbit(...args, '--threads', '1', '--out', join(out, 'one'));
      expect(one.status, one.stderr).toBe(0);
      const two = lowbit(...args, '--threads', '2', '--out', join(out, 'two'));
      expect(two.status, two.stderr).toBe(0);
      expect(two.stderr).toMatch(/2 threads/);
      const a = loadNetwork(join(out, 'one', 'model.json'));
      const b = loadNetwork(join(out, 'two', 'model.json'));
      const pb = paramMap(b, 'all');
      for (const [k, v] of Object.entries(paramMap(a, 'all'))) expect(maxRelError(pb[k]!.dataSync() as Float32Array, v.dataSync() as Float32Array), k).toBeLessThan(1e-4);
      disposeNetwork(a);
      disposeNetwork(b);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('explains missing data and bad options', () => {
    const d = lowbit('train', '--data', '/nonexistent/fm', '--epochs', '1');
    expect(d.status).toBe(2);
    expect(d.stderr).toMatch(/does not exist\. Install the dataset with 'apt-get install dataset-fashion-mnist'/);
    const m = lowbit('eval', '--model', 'nope.json');
    expect(m.status).toBe(2);
    expect(m.stderr).toMatch(/neither a reference model .* nor an existing model\.json/);
    const o = lowbit('train', '--optimizer', 'lion', '--data', 'bundled');
    expect(o.status).toBe(2);
    expect(o.stderr).toMatch(/--optimizer must be sgd or adam, got 'lion'/);
  });
});
