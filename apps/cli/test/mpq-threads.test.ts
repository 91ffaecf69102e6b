import { initBackend, maxRelError } from '@lowbit/core';
import { paramMap } from '@lowbit/nn';
import { loadOneShot, type OneShotNet } from '@lowbit/pipelines/node';
import { describe, expect, it } from 'vitest';

function state(o: OneShotNet): Map<string, Float32Array> {
  return new Map(Object.entries({ ...paramMap(o.net, 'all'), ...o.quantState() }).map(([k, v]) => [k, v.dataSync().slice() as Float32Array]));
}

describe('lowbit mpq train --threads (CLI)', () => {
  it('--threads 2 trains the same one-shot network as one thread', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { lowbit } = await import('./helpers.js');
    await initBackend({ backend: 'wasm', fallback: false });
    const out = mkdtempSync(join(tmpdir(), 'lowbit-mpq-threads-'));
    try {
      const args = ['mpq', 'train', '--data', 'bundled', '--steps-per-epoch', '3', '--batch', '32', '--test-limit', '100', '--json'];
      const one = lowbit(...args, '--threads', '1', '--out', join(out, 'one'));
      expect(one.status, one.stderr).toBe(0);
      const two = lowbit(...args, '--threads', '2', '--out', join(out, 'two'));
      expect(two.status, two.stderr).toBe(0);
      const a = loadOneShot(join(out, 'one', 'oneshot'));
      const b = loadOneShot(join(out, 'two', 'oneshot'));
      const sa = state(a.oneShot);
      const sb = state(b.oneShot);
      expect([...sb.keys()].sort()).toEqual([...sa.keys()].sort());
      // three steps of resnet-fm: float summation-order differences (≈1e-7 per step) grow through
      // the updates; running means near zero show them most (1.5e-4 seen)
      for (const [k, v] of sa) expect(maxRelError(sb.get(k)!, v), k).toBeLessThan(1e-3);
      // and what the command reports agrees
      const ja = JSON.parse(one.stdout);
      const jb = JSON.parse(two.stdout);
      expect(Math.abs(jb.maxBitsAccuracy - ja.maxBitsAccuracy)).toBeLessThanOrEqual(0.01);
      a.oneShot.dispose();
      b.oneShot.dispose();
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 600_000);

  it('--hold-out N trains on the training images after the first N and records it with the one-shot network', async () => {
    const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { lowbit } = await import('./helpers.js');
    const out = mkdtempSync(join(tmpdir(), 'lowbit-mpq-holdout-'));
    try {
      const r = lowbit('mpq', 'train', '--data', 'bundled', '--hold-out', '1000', '--steps-per-epoch', '2', '--batch', '8', '--test-limit', '50', '--threads', '1', '--out', join(out, 'run'));
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/training data .* \(24 images; the first 1000 held out\)/);
      const meta = JSON.parse(readFileSync(join(out, 'run', 'oneshot', 'oneshot.json'), 'utf8'));
      expect(meta.metadata.config.holdOut).toBe(1000);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 600_000);
});
