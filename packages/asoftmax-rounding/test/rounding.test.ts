import * as tf from '@tensorflow/tfjs-core';
import { type BackendName, initBackend, maxRelError as relMax, Rng, type StepContext, type WeightQuantizer } from '@lowbit/core';
import { describe, expect, it } from 'vitest';
import { adaRound, asoftmaxRounding, softness } from '../src/index.js';

/** Per-channel min–max steps (no clipping, so soft weights can equal float weights). */
const minmaxStep = (w: tf.Tensor, bits: number, axis: number | null): Float32Array => {
  const v = w.dataSync();
  const c = axis === null ? 1 : w.shape[axis]!;
  const inner = axis === null ? v.length : w.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const m = new Float32Array(c);
  for (let i = 0; i < v.length; i++) {
    const ch = axis === null ? 0 : Math.floor(i / inner) % c;
    m[ch] = Math.max(m[ch]!, Math.abs(v[i]!));
  }
  return m.map((x) => x / (2 ** (bits - 1) - 1));
};

const ctx = (step: number, total: number, training = true): StepContext => ({ step, total, training, rng: new Rng(0) });

for (const backend of ['wasm', 'cpu'] as BackendName[]) {
  describe(`ASoftmax rounding (${backend})`, () => {
    it('at τ = 1 the soft weight equals the float weight (≤ 1e-6 relative)', async () => {
      await initBackend({ backend, fallback: false });
      for (const bits of [2, 3, 4, 8]) {
        const w = new Rng(bits).normalTensor([3, 3, 4, 6], 0, 0.2);
        const q = asoftmaxRounding({ bits, initStep: minmaxStep });
        const s = q.init(w);
        const soft = tf.tidy(() => q.apply(w, s, ctx(0, 100)).dataSync());
        expect(relMax(soft, w.dataSync())).toBeLessThanOrEqual(1e-6);
        q.dispose(s);
        w.dispose();
      }
    });

    it('annealing τ to 0.01 makes the soft weight the hard (argmax) weight', async () => {
      await initBackend({ backend, fallback: false });
      const w = new Rng(9).normalTensor([64, 8], 0, 0.1);
      const q = asoftmaxRounding({ bits: 3, initStep: minmaxStep });
      const s = q.init(w);
      expect(softness(s, 1)).toBeGreaterThan(0.1);
      expect(softness(s, 0.01)).toBeLessThan(softness(s, 0.1));
      const [soft, hard] = tf.tidy(() => [q.apply(w, s, ctx(99, 100)).dataSync(), q.apply(w, s, ctx(0, 1, false)).dataSync()]);
      // at τ = 0.01 a weight stays soft only when its fractional part is within ~1% of 1/2
      let far = 0;
      const step = minmaxStep(w, 3, 1);
      for (let i = 0; i < soft.length; i++) if (Math.abs(soft[i]! - hard[i]!) > 0.05 * step[i % 8]!) far++;
      expect(far / soft.length).toBeLessThan(0.05);
      // hard weights lie on the grid and are floor or ceil of w/s
      const wv = w.dataSync();
      for (let i = 0; i < hard.length; i++) {
        const k = hard[i]! / step[i % 8]!;
        expect(Math.abs(k - Math.round(k))).toBeLessThan(1e-4);
        expect([Math.floor(wv[i]! / step[i % 8]! + 1e-6), Math.ceil(wv[i]! / step[i % 8]! - 1e-6)]).toContain(Math.round(k));
      }
      const h = q.harden(w, s);
      expect(h.codes).toBeInstanceOf(Int8Array);
      for (let i = 0; i < hard.length; i++) expect(h.codes[i]! * h.scale[i % 8]!).toBeCloseTo(hard[i]!, 6);
      q.dispose(s);
      w.dispose();
    });

    it('gradients reach the logits and match finite differences', async () => {
      await initBackend({ backend, fallback: false });
      const w = tf.tensor2d([0.13, -0.41, 0.27, 0.05], [2, 2]);
      const target = tf.tensor2d([0.2, -0.3, 0.2, 0.1], [2, 2]);
      const q = asoftmaxRounding({ bits: 4, initStep: minmaxStep });
      const s = q.init(w);
      const loss = () => tf.sum(tf.square(tf.sub(q.apply(w, s, ctx(30, 100)), target))) as tf.Scalar;
      const { grads } = tf.variableGrads(loss, [s.logits]);
      const g = grads[s.logits.name]!.dataSync();
      expect(g.some((v) => Math.abs(v) > 1e-4)).toBe(true);
      const base = s.logits.dataSync().slice();
      const h = 1e-2;
      for (const i of [0, 3, 5]) {
        const at = (d: number) => {
          const b = base.slice();
          b[i]! += d;
          s.logits.assign(tf.tensor(b, s.logits.shape));
          return tf.tidy(() => loss().dataSync()[0]!);
        };
        const fd = (at(h) - at(-h)) / (2 * h);
        expect(Math.abs(g[i]! - fd)).toBeLessThan(2e-3 + 0.02 * Math.abs(fd));
      }
      q.dispose(s);
      tf.dispose([w, target, grads[s.logits.name]!]);
    });
  });
}

describe('ASoftmax options', () => {
  it('a wider candidate range keeps the expected offset at the fractional part', async () => {
    await initBackend({ backend: 'wasm', fallback: false });
    const w = new Rng(3).normalTensor([40], 0, 0.3);
    const q = asoftmaxRounding({ bits: 4, initStep: minmaxStep, candidates: [-1, 2], eps: 1e-4 });
    const s = q.init(w);
    expect(s.logits.shape).toEqual([40, 4]);
    const soft = tf.tidy(() => q.apply(w, s, ctx(0, 10)).dataSync());
    expect(relMax(soft, w.dataSync())).toBeLessThan(2e-3);
    q.dispose(s);
    w.dispose();
  });

  it('rejects bad settings', () => {
    expect(() => asoftmaxRounding({ bits: 4, initStep: minmaxStep, candidates: [1, 2] })).toThrow(/n ≤ 0 < m/);
    const w = tf.ones([2, 2]);
    expect(() => asoftmaxRounding({ bits: 9, initStep: minmaxStep }).init(w)).toThrow(/got 9/);
    expect(() => asoftmaxRounding({ bits: 4, initStep: () => new Float32Array(3) }).init(w)).toThrow(/returned 3 steps, expected 2/);
    expect(() => asoftmaxRounding({ bits: 4, initStep: () => new Float32Array(2) }).init(w)).toThrow(/positive and finite/);
    w.dispose();
  });
});

describe('AdaRound (baseline)', () => {
  it('starts at the float weight, regularises only after warm-up, rounds hard at h ≥ 0.5', async () => {
    await initBackend({ backend: 'wasm', fallback: false });
    const w = new Rng(5).normalTensor([16, 4], 0, 0.2);
    const q = adaRound({ bits: 4, initStep: minmaxStep });
    const s = q.init(w);
    const soft = tf.tidy(() => q.apply(w, s, ctx(0, 100)).dataSync());
    expect(relMax(soft, w.dataSync())).toBeLessThan(1e-5);
    expect(q.regularizer!(s, ctx(10, 100))).toBeNull();
    const r = tf.tidy(() => q.regularizer!(s, ctx(50, 100))!.dataSync()[0]!);
    expect(r).toBeGreaterThan(0);
    const hard = tf.tidy(() => q.apply(w, s, ctx(0, 1, false)).dataSync());
    const step = minmaxStep(w, 4, 1);
    const wv = w.dataSync();
    for (let i = 0; i < hard.length; i++) {
      // the initial V rounds to nearest (h = frac ≥ 0.5 ⇔ ceil)
      expect(hard[i]!).toBeCloseTo(Math.round(wv[i]! / step[i % 4]!) * step[i % 4]!, 5);
    }
    const { grads } = tf.variableGrads(() => tf.add(tf.sum(tf.square(q.apply(w, s, ctx(60, 100)))), q.regularizer!(s, ctx(60, 100))!) as tf.Scalar, [s.v]);
    expect(grads[s.v.name]!.dataSync().some((v) => v !== 0)).toBe(true);
    tf.dispose(Object.values(grads));
    q.dispose(s);
    w.dispose();
  });
});

/** Per-channel min–max asymmetric grids: steps and zero points with [lo, hi] inside the grid (no clipping). */
const minmaxAsym = (w: tf.Tensor, bits: number, axis: number | null) => {
  const v = w.dataSync();
  const c = axis === null ? 1 : w.shape[axis]!;
  const inner = axis === null ? v.length : w.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const lo = new Float32Array(c);
  const hi = new Float32Array(c);
  for (let i = 0; i < v.length; i++) {
    const ch = axis === null ? 0 : Math.floor(i / inner) % c;
    lo[ch] = Math.min(lo[ch]!, v[i]!);
    hi[ch] = Math.max(hi[ch]!, v[i]!);
  }
  const top = 2 ** bits - 1;
  // one spare level so that lo/s ≥ −z and hi/s ≤ top − z whatever the zero point rounds to
  const steps = Float32Array.from(lo, (l, i) => (hi[i]! - l) / (top - 1));
  const zeroPoints = Int32Array.from(lo, (l, i) => Math.ceil(-l / steps[i]!));
  return { steps, zeroPoints };
};

describe('learned rounding on asymmetric grids (a zero point per channel)', () => {
  for (const [name, make] of [
    ['ASoftmax', (bits: number) => asoftmaxRounding({ bits, initStep: minmaxAsym }) as WeightQuantizer],
    ['AdaRound', (bits: number) => adaRound({ bits, initStep: minmaxAsym }) as WeightQuantizer],
  ] as const) {
    it(`${name}: starts at the float weight, hardens to unsigned codes 0..2^b − 1 that reproduce the hard weight exactly`, async () => {
      await initBackend({ backend: 'wasm', fallback: false });
      for (const bits of [2, 4]) {
        // skewed weights: a grid centred on zero would waste levels
        const w = tf.tidy(() => tf.add(tf.abs(new Rng(bits).normalTensor([3, 3, 4, 6], 0, 0.2)), -0.05));
        const q = make(bits);
        const s = q.init(w);
        const soft = tf.tidy(() => q.apply(w, s, ctx(0, 100)).dataSync());
        expect(relMax(soft, w.dataSync())).toBeLessThanOrEqual(name === 'ASoftmax' ? 1e-6 : 1e-5);
        const hard = tf.tidy(() => q.apply(w, s, ctx(0, 1, false)).dataSync());
        const h = q.harden(w, s);
        expect(h.signed).toBe(false);
        expect(Array.from(h.codes).every((c) => Number.isInteger(c) && c >= 0 && c <= 2 ** bits - 1)).toBe(true);
        // channels on the last axis (6): channel of flat index i is i % 6
        const deq = Float32Array.from(h.codes, (c, i) => Math.fround(h.scale[i % 6]! * (c - h.zeroPoint[i % 6]!)));
        expect(Array.from(deq)).toEqual(Array.from(hard));
        // an asymmetric grid of skewed weights uses codes above the symmetric range's top (2^(b−1) − 1 relative to zero)
        expect(Array.from(h.codes).some((c, i) => c - h.zeroPoint[i % 6]! > 2 ** (bits - 1) - 1)).toBe(true);
        q.dispose(s);
        w.dispose();
      }
    });
  }
});
