import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { Rng } from '../src/index.js';
import { onBackend } from './helpers.js';

describe('Rng', () => {
  it('is reproducible for a seed and differs across seeds', () => {
    const a = new Rng(1);
    const b = new Rng(1);
    const c = new Rng(2);
    const sa = Array.from({ length: 5 }, () => a.nextUint32());
    expect(Array.from({ length: 5 }, () => b.nextUint32())).toEqual(sa);
    expect(Array.from({ length: 5 }, () => c.nextUint32())).not.toEqual(sa);
  });
  it('resumes exactly from a saved state', () => {
    const a = new Rng(9);
    for (let i = 0; i < 10; i++) a.float();
    const b = Rng.fromState(a.state());
    expect(Array.from({ length: 8 }, () => b.float())).toEqual(Array.from({ length: 8 }, () => a.float()));
  });
  it('uniform floats have mean 1/2 and variance 1/12', () => {
    const r = new Rng(3);
    const n = 100_000;
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const v = r.float();
      expect(v >= 0 && v < 1).toBe(true);
      s += v;
      s2 += v * v;
    }
    expect(s / n).toBeCloseTo(0.5, 2);
    expect(s2 / n - (s / n) ** 2).toBeCloseTo(1 / 12, 2);
  });
  it('normals have mean 0 and variance 1', () => {
    const r = new Rng(4);
    const n = 100_000;
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const v = r.normal();
      s += v;
      s2 += v * v;
    }
    expect(Math.abs(s / n)).toBeLessThan(0.02);
    expect(Math.abs(s2 / n - 1)).toBeLessThan(0.02);
  });
  it('permutation is a permutation', () => {
    const p = Array.from(new Rng(5).permutation(1000)).sort((x, y) => x - y);
    expect(p).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });
  it('bernoulli masks keep a share p of ones (within 4 standard errors)', async () => {
    await onBackend('wasm', () => {
      const r = new Rng(6);
      for (const p of [0, 0.1, 0.5, 0.9, 1]) {
        const m = r.bernoulli([200, 500], p);
        const mean = tf.mean(m).dataSync()[0]!;
        m.dispose();
        const se = Math.sqrt((p * (1 - p)) / 100_000);
        expect(Math.abs(mean - p)).toBeLessThanOrEqual(4 * se + 1e-9);
      }
    });
  });
  it('rejects bad arguments', () => {
    expect(() => new Rng(Number.NaN)).toThrow(/finite/);
    expect(() => new Rng(1).bernoulli([2], 1.5)).toThrow(/\[0, 1\]/);
    expect(() => new Rng(1).int(0)).toThrow(/n >= 1/);
  });
});
