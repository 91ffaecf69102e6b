import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@lowbit/core';
import fc from 'fast-check';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { boundaryFraction, type CandidateGrid, turbulence } from '../src/index.js';

beforeAll(() => initBackend({ backend: 'wasm', fallback: false }));

/** Tensors made by a test are disposed after it; none may be left behind by the package. */
let made: tf.Tensor[] = [];
let before = 0;
const t = <T extends tf.Tensor>(x: T): T => {
  made.push(x);
  return x;
};
beforeEach(() => {
  made = [];
  before = tf.memory().numTensors;
});
afterEach(() => {
  expect(tf.memory().numTensors - before).toBe(made.length);
  for (const x of made) x.dispose();
});

/** A signed symmetric grid of `bits` with a per-tensor step. */
function signed(bits: number, step: number | tf.Tensor): CandidateGrid {
  return { bits, step: typeof step === 'number' ? t(tf.scalar(step)) : step, qmin: -(2 ** (bits - 1)), qmax: 2 ** (bits - 1) - 1 };
}

describe('boundaryFraction', () => {
  it('counts weights within threshold·step of a boundary between two representable levels', () => {
    // 2-bit signed grid, levels −2..1, boundaries −1.5, −0.5, 0.5.
    const w = t(tf.tensor([0.1, 0.45, 0.55, 0.9, 5.0, -1.55, -2.45, 1.45]));
    // near: 0.45 and 0.55 (boundary 0.5), −1.55 (boundary −1.5). Not near: 0.1, 0.9 (0.4 from a
    // boundary); 5.0, −2.45 and 1.45 lie by boundaries −2.5 / 1.5 next to clipped levels −3 / 2.
    expect(boundaryFraction(w, signed(2, 1))).toBe(3 / 8);
    // A wider band takes 0.1 and 0.9 (0.4 from 0.5) in as well; a zero band takes nothing.
    expect(boundaryFraction(w, signed(2, 1), 0.45)).toBe(5 / 8);
    expect(boundaryFraction(w, signed(2, 1), 0)).toBe(0);
    // The same weights on a 3-bit grid (levels −4..3): 1.45 (boundary 1.5) and −2.45 (−2.5) become near.
    expect(boundaryFraction(w, signed(3, 1))).toBe(5 / 8);
  });

  it('with the brief example w = [0.1, 0.45, 0.55, 0.9, 5.0], step 1: 0.45 and 0.55 are near, 5.0 is clipped', () => {
    const w = t(tf.tensor([0.1, 0.45, 0.55, 0.9, 5.0]));
    expect(boundaryFraction(w, signed(2, 1))).toBe(0.4);
    // A grid [−1, 0]: the boundary 0.5 lies between 0 and the unrepresentable 1, so nothing is near.
    expect(boundaryFraction(w, { bits: 1, step: t(tf.scalar(1)), qmin: -1, qmax: 0 })).toBe(0);
  });

  it('per-channel steps broadcast against the weight ([1,1,1,C] for a conv kernel, or [C])', () => {
    // Kernel [1, 1, 2, 3]: channel c holds w[0,0,0,c] and w[0,0,1,c]; steps 1, 0.5, 2.
    const w = t(tf.tensor([0.5, 0.25, 1.0, 0.3, 0.1, 3.2], [1, 1, 2, 3]));
    // x per channel: [0.5, 0.3], [0.5, 0.2], [0.5, 1.6] → near: 0.5 (×3) and 1.6 → 4 / 6.
    const perChannel = signed(3, t(tf.tensor([1, 0.5, 2], [1, 1, 1, 3])));
    expect(boundaryFraction(w, perChannel)).toBeCloseTo(4 / 6, 12);
    expect(boundaryFraction(w, signed(3, t(tf.tensor([1, 0.5, 2]))))).toBeCloseTo(4 / 6, 12);
    // Per tensor with step 1: only 0.5 is near (3.2 is by the boundary 3.5 next to the clipped level 4).
    expect(boundaryFraction(w, signed(3, 1))).toBeCloseTo(1 / 6, 12);
  });

  it('adds the zero point before locating boundaries', () => {
    const w = t(tf.tensor([-1.5, -2.5, 0.5, 1.5, 2.5]));
    const unsigned2: CandidateGrid = { bits: 2, step: t(tf.scalar(1)), qmin: 0, qmax: 3 };
    // Without a zero point x = w: 0.5, 1.5, 2.5 are near (levels 0..3).
    expect(boundaryFraction(w, unsigned2)).toBe(3 / 5);
    // With zero point 2: x = [0.5, −0.5, 2.5, 3.5, 4.5] → only 0.5 and 2.5 are near.
    expect(boundaryFraction(w, { ...unsigned2, zeroPoint: t(tf.scalar(2)) })).toBe(2 / 5);
  });

  it('rejects bad thresholds, grids, steps and weights with specific messages', () => {
    const w = t(tf.tensor([0.1, 0.2, 0.3, 0.4, 0.5]));
    expect(() => boundaryFraction(w, signed(2, 1), 0.6)).toThrow(/threshold must be a number of steps in \[0, 0.5\], got 0.6/);
    expect(() => boundaryFraction(w, signed(2, 0))).toThrow(/steps must be positive and finite, got 0 at flat index 0/);
    expect(() => boundaryFraction(w, signed(2, t(tf.tensor([1, -1], [1, 2]))))).toThrow(/step of shape \[1, 2\] does not broadcast to the weight shape \[5\]/);
    expect(() => boundaryFraction(w, { bits: 2, step: t(tf.scalar(1)), qmin: -8, qmax: 7 })).toThrow(/range \[-8, 7\] has 16 levels, more than 2\^2 = 4/);
    expect(() => boundaryFraction(w, { bits: 2, step: t(tf.scalar(1)), qmin: 1, qmax: 1 })).toThrow(/qmin < qmax, got qmin 1, qmax 1/);
    expect(() => boundaryFraction(w, { ...signed(2, 1), bits: 0 })).toThrow(/bits must be an integer from 1 to 32, got 0/);
    expect(() => boundaryFraction(w, { ...signed(2, 1), zeroPoint: t(tf.tensor([0, 0])) })).toThrow(/zeroPoint of shape \[2\] does not broadcast/);
    expect(() => boundaryFraction(t(tf.tensor([1, 2], [2], 'int32')), signed(2, 1))).toThrow(/weight must be a float32 tensor, got int32/);
    expect(() => boundaryFraction(t(tf.zeros([0, 3])), signed(2, 1))).toThrow(/weight is empty \(shape \[0, 3\]\)/);
  });

  it('agrees with a plain-number reference on exactly representable weights (property)', () => {
    const reference = (w: number[], steps: number[], channels: number, g: { qmin: number; qmax: number }, zp: number, th: number) => {
      let near = 0;
      w.forEach((v, i) => {
        const x = v / steps[i % channels]! + zp;
        const k = Math.floor(x);
        if (Math.abs(x - k - 0.5) < th && k >= g.qmin && k + 1 <= g.qmax) near++;
      });
      return near / w.length;
    };
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.integer({ min: -700, max: 700 }), { minLength: 1, maxLength: 40 }),
        fc.array(fc.integer({ min: -3, max: 1 }), { minLength: 4, maxLength: 4 }),
        fc.integer({ min: 2, max: 6 }),
        fc.integer({ min: -2, max: 2 }),
        fc.constantFrom(0.125, 0.25, 0.0625),
        (channels, ks, exps, bits, zp, th) => {
          const rows = Math.ceil(ks.length / channels);
          const w = Array.from({ length: rows * channels }, (_, i) => ks[i % ks.length]! / 64);
          const steps = exps.slice(0, channels).map((e) => 2 ** e);
          const g = { qmin: -(2 ** (bits - 1)), qmax: 2 ** (bits - 1) - 1 };
          const got = tf.tidy(() =>
            boundaryFraction(tf.tensor(w, [rows, channels]), { bits, ...g, step: tf.tensor(steps, [1, channels]), zeroPoint: tf.scalar(zp) }, th),
          );
          expect(got).toBeCloseTo(reference(w, steps, channels, g, zp, th), 12);
        },
      ),
      { numRuns: 60, seed: 7 },
    );
  });
});

describe('turbulence', () => {
  it('is the mean over the candidate grids of boundaryFraction / bits (hand-computed 11/90)', () => {
    const w = t(tf.tensor([0.1, 0.45, 0.55, 0.9, 5.0]));
    // 2 bits, step 1: 0.45, 0.55 near → 2/5.
    // 3 bits, step 0.3: x ≈ [0.33, 1.5, 1.83, 3, 16.7] → only 1.5 near → 1/5.
    // 4 bits, step 0.25: x = [0.4, 1.8, 2.2, 3.6, 20] → 0.4 and 3.6 near → 2/5.
    const grids = [signed(2, 1), signed(3, 0.3), signed(4, 0.25)];
    expect(grids.map((g) => boundaryFraction(w, g))).toEqual([0.4, 0.2, 0.4]);
    expect(turbulence(w, grids)).toBeCloseTo((0.4 / 2 + 0.2 / 3 + 0.4 / 4) / 3, 12);
    expect(turbulence(w, grids)).toBeCloseTo(11 / 90, 12);
    // One grid: its fraction over its bits.
    expect(turbulence(w, [signed(4, 0.25)])).toBeCloseTo(0.1, 12);
  });

  it('passes the threshold on and needs at least one grid', () => {
    const w = t(tf.tensor([0.1, 0.45, 0.55, 0.9, 5.0]));
    expect(turbulence(w, [signed(2, 1)], 0.45)).toBeCloseTo(4 / 5 / 2, 12);
    expect(() => turbulence(w, [])).toThrow(/needs at least one candidate grid, got none/);
  });
});
