import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { bernoulliMix, kernels, Rng, setKernelsEnabled } from '../src/index.js';
import { onBackend } from './helpers.js';

/** Mixed output, both gradients of Σ mix·d, and the generator state after, as plain arrays. */
function run(shape: number[], p: number, seed: number): { out: number[]; dxf: number[]; dxq: number[]; state: number[] } {
  const data = new Rng(100 + seed);
  const xf = data.normalTensor(shape);
  const xq = tf.tidy(() => tf.round(tf.mul(xf, 4)).div(4));
  const d = data.normalTensor(shape);
  const rng = new Rng(seed);
  const r = tf.tidy(() => {
    const out = bernoulliMix(xf, xq, p, rng).dataSync();
    const [gf, gq] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(bernoulliMix(a, b, p, rng), d)))([xf, xq]);
    return { out: Array.from(out), dxf: Array.from(gf!.dataSync()).map((v) => v + 0), dxq: Array.from(gq!.dataSync()).map((v) => v + 0) };
  });
  tf.dispose([xf, xq, d]);
  return { ...r, state: rng.state() };
}

describe('bernoulliMix', () => {
  it('the fused kernel equals mask-then-ops bit for bit: output, gradients, generator state (60 calls, both V8 tiers)', async () => {
    await onBackend('wasm', () => undefined);
    expect(kernels()).not.toBeNull();
    for (let it = 0; it < 60; it++) {
      const shape = [[2, 5, 5, 3], [31], [4, 14, 14, 8]][it % 3]!;
      const p = [0.5, 0.13, 0.97, 0.25][it % 4]!;
      const fused = run(shape, p, it);
      const prev = setKernelsEnabled(false);
      const plain = run(shape, p, it);
      setKernelsEnabled(prev);
      expect(fused).toEqual(plain);
    }
  });

  it('keeps the share of float elements at p and leaks nothing', async () => {
    await onBackend('wasm', () => undefined);
    const xf = tf.ones([100, 100]);
    const xq = tf.zeros([100, 100]);
    const rng = new Rng(4);
    const share = tf.tidy(() => tf.mean(bernoulliMix(xf, xq, 0.3, rng)).dataSync()[0]!);
    // 10,000 draws: standard deviation ≈ 0.0046
    expect(Math.abs(share - 0.3)).toBeLessThan(0.02);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 50; i++) tf.dispose(tf.tidy(() => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(bernoulliMix(a, b, 0.4, rng)))([xf, xq])));
    expect(tf.memory().numTensors).toBe(before);
    expect(() => bernoulliMix(xf, xq, 1.5, rng)).toThrow(RangeError);
    tf.dispose([xf, xq]);
  });

  for (const kernelsOn of [true, false]) {
    it(`a batch split in shards (shard skips) draws the one-thread mask rows and ends in the same generator state (${kernelsOn ? 'kernel' : 'op path'})`, async () => {
      await onBackend('wasm', () => undefined);
      const prev = setKernelsEnabled(kernelsOn);
      try {
        const r0 = new Rng(21);
        const xf = new Rng(1).uniform([7, 3, 3, 2]);
        const xq = tf.zerosLike(xf);
        const whole = tf.tidy(() => bernoulliMix(xf, xq, 0.4, r0).dataSync().slice());
        // three threads holding rows 0–1, 2–4 and 5–6
        const parts: number[] = [];
        let state = r0.state();
        for (const [a, b] of [[0, 2], [2, 5], [5, 7]] as const) {
          const r = new Rng(21);
          const rows = tf.slice(xf, a, b - a);
          parts.push(...tf.tidy(() => bernoulliMix(rows, tf.zerosLike(rows), 0.4, r, { before: a, after: 7 - b }).dataSync()));
          state = r.state();
          expect(state).toEqual(r0.state());
          rows.dispose();
        }
        expect(parts).toEqual([...whole]);
        tf.dispose([xf, xq]);
      } finally {
        setKernelsEnabled(prev);
      }
    });
  }
});
