import * as tf from '@tensorflow/tfjs-core';
import { Rng, type StepContext } from '@lowbit/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { dequantizeHardened, estimateScale, grid, histogramScale, newHistogram, observeValues, stepSizeInit, uniformActivationQuantizer, uniformWeightQuantizer } from '../src/index.js';
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

describe('asymmetric weight grids', () => {
  const rng = new Rng(5);
  // skewed channels (ReLU-like weights): most mass on one side, as BN-folded kernels often are
  const skewed = Float32Array.from({ length: 4000 }, () => Math.abs(rng.normal()) * 0.8 - 0.2 + 0.05 * rng.normal());
  function err(v: Float32Array, s: number, z: number, bits: number): number {
    const g = grid(bits, false);
    let e = 0;
    for (const x of v) e += (x - (Math.min(g.qmax, Math.max(g.qmin, Math.round(x / s) + z)) - z) * s) ** 2;
    return e;
  }
  for (const bits of [2, 3, 4]) {
    it(`at ${bits} bits the MSE search of both ends beats one shared ratio, and an asymmetric grid beats the symmetric one on skewed weights`, () => {
      const g = grid(bits, false);
      const both = estimateScale(skewed, { grid: g, symmetric: false, estimator: 'mse' });
      const shared = estimateScale(skewed, { grid: g, symmetric: false, estimator: 'mse', ratios: [] });
      let sharedBest = err(skewed, shared.scale, shared.zeroPoint, bits);
      for (let r = 0.05; r <= 1.0001; r += 0.01) {
        const lo = Math.min(...skewed) * r;
        const hi = Math.max(...skewed) * r;
        const s = (hi - Math.min(lo, 0)) / g.qmax;
        const z = Math.round(-Math.min(lo, 0) / s);
        sharedBest = Math.min(sharedBest, err(skewed, s, z, bits));
      }
      const eBoth = err(skewed, both.scale, both.zeroPoint, bits);
      expect(eBoth).toBeLessThanOrEqual(sharedBest * (1 + 1e-9));
      expect(Number.isInteger(both.zeroPoint) && both.zeroPoint >= 0 && both.zeroPoint <= g.qmax).toBe(true);
      const sym = estimateScale(skewed, { grid: grid(bits, true), symmetric: true, estimator: 'mse' });
      expect(eBoth).toBeLessThan(sqErr(skewed, sym.scale, bits));
      console.log(`W${bits} skewed: asymmetric both ends ${eBoth.toFixed(2)}, shared ratio ${sharedBest.toFixed(2)}, symmetric ${sqErr(skewed, sym.scale, bits).toFixed(2)}`);
    });
  }

  it('stepSizeInit gives steps and zero points for learned rounding; the uniform quantizer hardens to unsigned codes', () => {
    const w = tf.tensor(Float32Array.from({ length: 3 * 3 * 2 * 4 }, () => rng.normal() + 0.3), [3, 3, 2, 4]);
    const init = stepSizeInit('mse', { symmetric: false })(w, 3, 3);
    expect(init).not.toBeInstanceOf(Float32Array);
    const { steps, zeroPoints } = init as { steps: Float32Array; zeroPoints: Int32Array };
    expect(steps.length).toBe(4);
    expect(Array.from(zeroPoints).every((z) => z >= 0 && z <= 7)).toBe(true);
    expect(stepSizeInit('mse')(w, 3, 3)).toBeInstanceOf(Float32Array);
    const q = uniformWeightQuantizer({ bits: 3, estimator: 'mse', symmetric: false });
    const s = q.init(w);
    const h = q.harden(w, s);
    expect(h.signed).toBe(false);
    expect(Array.from(h.codes).every((c) => c >= 0 && c <= 7)).toBe(true);
    expect(Array.from(h.zeroPoint)).toEqual(Array.from(zeroPoints));
    const fq = tf.tidy(() => q.apply(w, s, ctx).dataSync());
    expect(Array.from(dequantizeHardened(h))).toEqual(Array.from(fq));
    q.dispose(s);
    w.dispose();
  });
});
