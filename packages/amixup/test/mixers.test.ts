import * as tf from '@tensorflow/tfjs-core';
import { initBackend, Rng, type StepContext } from '@lowbit/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { amixup, noMixing, qdrop } from '../src/index.js';

beforeAll(() => initBackend({ backend: 'wasm', fallback: false }));
const ctx = (step: number, total: number, seed = 1, training = true): StepContext => ({ step, total, training, rng: new Rng(seed) });

/** Share of output elements equal to the float input (float = 1, quantized = 0 makes it the mask mean). */
function floatShare(mix: ReturnType<typeof amixup>, c: StepContext, n = 200_000): number {
  return tf.tidy(() => tf.mean(mix(tf.ones([n]), tf.zeros([n]), c)).dataSync()[0]!);
}

describe('AMixup', () => {
  it('the float share follows p_t from 0.5 to 0 (within 4 standard errors), p = 0 is purely quantized', () => {
    const m = amixup();
    const total = 101;
    for (const step of [0, 25, 50, 75, 100]) {
      const p = 0.5 * (1 - step / 100);
      expect(m.probability(step, total)).toBeCloseTo(p, 12);
      const share = floatShare(m, ctx(step, total, step + 1));
      const se = Math.sqrt((p * (1 - p)) / 200_000);
      expect(Math.abs(share - p)).toBeLessThanOrEqual(4 * se + 1e-12);
    }
    expect(floatShare(m, ctx(100, total))).toBe(0);
  });

  it('masks are per element, seeded and reproducible; evaluation returns the quantized value', () => {
    const m = amixup();
    const a = tf.tidy(() => m(tf.ones([1000]), tf.zeros([1000]), ctx(0, 10, 7)).dataSync());
    const b = tf.tidy(() => m(tf.ones([1000]), tf.zeros([1000]), ctx(0, 10, 7)).dataSync());
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(new Set(a).size).toBe(2);
    expect(floatShare(m, ctx(0, 10, 1, false), 100)).toBe(0);
  });

  it('convex mode mixes every element by λ = p_t; gradients reach both inputs', () => {
    const m = amixup({ mode: 'convex', pStart: 0.4, pEnd: 0 });
    const y = tf.tidy(() => m(tf.fill([4], 2), tf.fill([4], 1), ctx(0, 5)).dataSync());
    for (const v of y) expect(v).toBeCloseTo(1.4, 6);
    const [gf, gq] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(m(a, b, ctx(0, 5))))([tf.ones([3]), tf.ones([3])]);
    expect(gf!.dataSync()[0]).toBeCloseTo(0.4, 6);
    expect(gq!.dataSync()[0]).toBeCloseTo(0.6, 6);
  });

  it('cosine and custom schedules; bad probabilities are rejected', () => {
    expect(amixup({ schedule: 'cosine' }).probability(5, 11)).toBeCloseTo(0.25, 12);
    expect(amixup({ schedule: () => 0.3 }).probability(5, 11)).toBe(0.3);
    expect(() => amixup({ pStart: 1.5 })).toThrow(/pStart must be a probability in \[0, 1\], got 1.5/);
    expect(() => qdrop({ p: -0.1 })).toThrow(/QDrop p must be a probability/);
  });
});

describe('QDrop and no mixing', () => {
  it('QDrop keeps a constant float share at every step', () => {
    const m = qdrop();
    for (const step of [0, 99]) {
      const share = floatShare(m, ctx(step, 100, step + 3));
      expect(Math.abs(share - 0.5)).toBeLessThan(4 * Math.sqrt(0.25 / 200_000));
    }
    expect(m.label).toBe('qdrop(0.5)');
  });
  it('no mixing returns the quantized activation', () => {
    expect(floatShare(noMixing() as ReturnType<typeof amixup>, ctx(0, 10), 100)).toBe(0);
  });
});
