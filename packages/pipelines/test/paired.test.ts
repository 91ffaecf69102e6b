import { initBackend } from '@lowbit/core';
import { bundledCalibrationSet } from '@lowbit/data';
import { createNetwork, disposeNetwork } from '@lowbit/nn';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluateNetwork } from '../src/eval/evaluate.js';
import { comparePredictions, mcnemarPValue } from '../src/eval/paired.js';
import { tinySpec } from './one-shot-fixtures.js';

beforeAll(() => initBackend({ backend: 'wasm', fallback: false }));

/** 2·P(X ≤ m), X ~ Binomial(n, ½), with exact integers. */
function exactP(a: number, b: number): number {
  const n = a + b;
  const m = Math.min(a, b);
  let c = 1n;
  let sum = 0n;
  for (let k = 0; k <= m; k++) {
    sum += c;
    c = (c * BigInt(n - k)) / BigInt(k + 1);
  }
  // sum / 2^n as a float, scaled to keep precision
  const scale = 2n ** BigInt(n);
  const digits = 60n;
  const q = Number((sum * 10n ** digits) / scale) / 10 ** Number(digits);
  return Math.min(1, 2 * q);
}

/** Complementary error function (Numerical Recipes' erfcc, relative error < 1.2e-7). */
function erfc(x: number): number {
  const t = 1 / (1 + 0.5 * Math.abs(x));
  const y = t * Math.exp(-x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? y : 2 - y;
}

describe('McNemar paired comparison', () => {
  it('p-values equal the exact binomial tail (integer arithmetic) from small to large counts', () => {
    expect(mcnemarPValue(10, 0)).toBeCloseTo(2 / 1024, 15);
    expect(mcnemarPValue(3, 1)).toBeCloseTo(0.625, 15);
    expect(mcnemarPValue(5, 5)).toBe(1);
    expect(mcnemarPValue(0, 0)).toBe(1);
    // large counts (a whole test set): no overflow, and close to the normal approximation with continuity correction
    expect(mcnemarPValue(60_000, 60_000)).toBe(1);
    const z = (1000 - 1) / Math.sqrt(41_000);
    const normal = 2 * 0.5 * erfc(z / Math.SQRT2);
    expect(Math.abs(mcnemarPValue(20_000, 21_000) - normal) / normal).toBeLessThan(0.02);
    for (const [a, b] of [
      [600, 500],
      [130, 95],
      [40, 17],
      [1, 30],
    ] as const) {
      const want = exactP(a, b);
      expect(Math.abs(mcnemarPValue(a, b) - want) / want, `${a} vs ${b}`).toBeLessThan(1e-9);
    }
  });

  it('counts the discordant images, the difference and its standard error', () => {
    const labels = [0, 1, 2, 3, 4, 5, 6, 7];
    const a = [0, 1, 2, 3, 9, 9, 6, 9];
    const b = [0, 9, 9, 3, 4, 9, 9, 9];
    const r = comparePredictions(a, b, labels);
    expect(r).toMatchObject({ images: 8, onlyA: 3, onlyB: 1, difference: 2 / 8 });
    expect(r.standardError).toBeCloseTo(Math.sqrt(4 - 4 / 8) / 8, 15);
    expect(r.pValue).toBeCloseTo(0.625, 15);
    expect(() => comparePredictions([1], [1, 2], [1])).toThrow(/1 and 2 predictions for 1 labels/);
  });

  it('evaluateNetwork returns every prediction (their accuracy is its accuracy) and honours limit', () => {
    const net = createNetwork(tinySpec(), { seed: 3 });
    const set = bundledCalibrationSet();
    const full = evaluateNetwork(net, set, { batchSize: 100 });
    expect(full.predictions.length).toBe(set.size);
    let correct = 0;
    for (let i = 0; i < set.size; i++) if (full.predictions[i] === set.labels[i]) correct++;
    expect(correct / set.size).toBe(full.accuracy);
    const part = evaluateNetwork(net, set, { batchSize: 100, limit: 250 });
    expect(part.samples).toBe(250);
    expect(Array.from(part.predictions)).toEqual(Array.from(full.predictions.subarray(0, 250)));
    disposeNetwork(net);
    // a network declaring 32×32 inputs runs on 28×28 images (strided convs, global pooling): refused, not measured
    const wide = createNetwork({ ...tinySpec(), inputShape: [32, 32, 1] }, { seed: 3 });
    expect(() => evaluateNetwork(wide, set, { batchSize: 100 })).toThrow(/holds 28×28×1 images, the model 'tiny-mpq' takes 32×32×1/);
    disposeNetwork(wide);
  });
});
