import * as tf from '@tensorflow/tfjs-core';
import { Rng, type StepContext } from '@lowbit/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { estimateScale, grid, histogramScale, newHistogram, observeValues, uniformActivationQuantizer, uniformWeightQuantizer } from '../src/index.js';
import { use } from './helpers.js';

beforeAll(() => use('wasm'));
const ctx: StepContext = { step: 0, total: 1, training: false, rng: new Rng(0) };

function sqErr(v: Float32Array, s: number, bits: number): number {
  const g = grid(bits, true);
  let e = 0;
  for (const x of v) e += (x - Math.min(g.qmax, Math.max(g.qmin, Math.round(x / s))) * s) ** 2;
  return e;
}

describe('range estimators', () => {
  const rng = new Rng(11);
  const gauss = Float32Array.from({ length: 20_000 }, () => rng.normal());
  const laplace = Float32Array.from({ length: 20_000 }, () => {
    const u = rng.float() - 0.5;
    return -Math.sign(u) * Math.log(1 - 2 * Math.abs(u));
  });
  for (const [name, data] of [
    ['Gaussian', gauss],
    ['Laplacian', laplace],
  ] as const) {
    for (const bits of [2, 3, 4]) {
      it(`MSE search beats min–max on ${name} data at ${bits} bits`, () => {
        const g = grid(bits, true);
        const mm = estimateScale(data, { grid: g, symmetric: true, estimator: 'minmax' });
        const mse = estimateScale(data, { grid: g, symmetric: true, estimator: 'mse' });
        expect(sqErr(data, mse.scale, bits)).toBeLessThan(0.9 * sqErr(data, mm.scale, bits));
      });
    }
  }

  it('min–max and percentile on known data; the retraining-free inits', () => {
    const v = Float32Array.from([-1, -0.5, 0, 0.5, 2]);
    const g = grid(4, true);
    expect(estimateScale(v, { grid: g, symmetric: true, estimator: 'minmax' }).scale).toBeCloseTo(2 / 7, 7);
    const asym = estimateScale(v, { grid: grid(4, false), symmetric: false, estimator: 'minmax' });
    expect(asym.scale).toBeCloseTo(3 / 15, 7);
    expect(asym.zeroPoint).toBe(5);
    const u = Float32Array.from({ length: 10_001 }, (_, i) => i / 10_000);
    expect(estimateScale(u, { grid: g, symmetric: true, estimator: 'percentile', percentile: 90 }).scale).toBeCloseTo(0.9 / 7, 4);
    // max(|μ−3σ|, |μ+3σ|) / 2^(b−1): μ = 0.2, σ² = mean((v−μ)²) = (1.44+0.49+0.04+0.09+3.24)/5 = 1.06
    const std = Math.sqrt(1.06);
    expect(estimateScale(v, { grid: g, symmetric: true, estimator: 'meanStd3' }).scale).toBeCloseTo((0.2 + 3 * std) / 8, 6);
    // 2·mean|x| / sqrt(2^b − 1)
    expect(estimateScale(v, { grid: grid(4, false), symmetric: true, estimator: 'meanAbs' }).scale).toBeCloseTo((2 * 0.8) / Math.sqrt(15), 6);
  });

  it('the activation histogram accumulates batches without keeping them', () => {
    const h1 = newHistogram();
    const h2 = newHistogram();
    const a = gauss.subarray(0, 10_000);
    const b = Float32Array.from(gauss.subarray(10_000), (x) => 3 * x);
    observeValues(h1, a);
    observeValues(h1, b);
    observeValues(h2, Float32Array.from([...a, ...b]));
    const g = grid(4, true);
    expect(histogramScale(h1, g, 'minmax').scale).toBe(histogramScale(h2, g, 'minmax').scale);
    expect(h1.count).toBe(20_000);
    const m1 = histogramScale(h1, g, 'mse').scale;
    const m2 = histogramScale(h2, g, 'mse').scale;
    expect(Math.abs(m1 - m2) / m2).toBeLessThan(0.05);
  });

  it('an activation quantizer calibrated on batches quantizes onto an unsigned grid', () => {
    const q = uniformActivationQuantizer({ bits: 4, signed: false, estimator: 'minmax' });
    const s = q.init();
    for (let i = 0; i < 3; i++) {
      const x = tf.relu(new Rng(i).normalTensor([4, 8]));
      q.observe(x, s);
      x.dispose();
    }
    q.finalize(s);
    const y = tf.tidy(() => q.apply(tf.tensor1d([-1, 0.05, 100]), s, ctx).dataSync());
    expect(y[0]).toBe(0);
    expect(y[2]).toBeCloseTo(15 * s.scales![4]!.dataSync()[0]!, 5);
    expect(q.variables(s)).toHaveLength(1); // LSQ step, learnable by default
    q.dispose(s);
  });
});

describe('bad parameters raise clear errors', () => {
  it('bits outside 2..8, axis out of range, non-finite input, apply before calibration', () => {
    expect(() => grid(1, true)).toThrow(/bits must be an integer from 2 to 8, got 1/);
    expect(() => uniformWeightQuantizer({ bits: 9 })).toThrow(/got 9/);
    const w = tf.ones([3, 3]);
    expect(() => uniformWeightQuantizer({ bits: 4, axis: 2 }).init(w)).toThrow(/weight channel axis 2 is out of range for a tensor of rank 2/);
    const bad = tf.tensor1d([1, Number.NaN]);
    expect(() => uniformWeightQuantizer({ bits: 4, granularity: 'tensor' }).init(bad)).toThrow(/non-finite value \(NaN\) at flat index 1/);
    const aq = uniformActivationQuantizer({ bits: 4, signed: true });
    const st = aq.init();
    expect(() => aq.apply(w, st, ctx)).toThrow(/apply\(\) before finalize\(\)/);
    expect(() => aq.observe(bad, st)).toThrow(/non-finite/);
    tf.dispose([w, bad]);
  });
});
