import * as tf from '@tensorflow/tfjs-core';
import { Rng, type StepContext } from '@lowbit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dequantizeHardened, fakeQuantize, grid, uniformWeightQuantizer } from '../src/index.js';
import { BACKENDS, use } from './helpers.js';

/** −0 and +0 are the same number; compare everything else bit for bit. */
const canon = (a: ArrayLike<number>) => Array.from(a, (v) => v + 0);

const ctx: StepContext = { step: 0, total: 1, training: false, rng: new Rng(0) };
const values = fc.array(fc.float({ min: -50, max: 50, noNaN: true, noDefaultInfinity: true }), { minLength: 1, maxLength: 64 });
const bitsArb = fc.integer({ min: 2, max: 8 });
const scaleArb = fc.float({ min: Math.fround(1e-3), max: 10, noNaN: true });

for (const backend of BACKENDS) {
  describe(`fake quantization properties (${backend})`, () => {
    it('outputs lie on the grid, within [qmin, qmax]·s, and Q(Q(x)) = Q(x)', async () => {
      await use(backend);
      fc.assert(
        fc.property(values, bitsArb, scaleArb, fc.boolean(), fc.integer({ min: -3, max: 3 }), (v, bits, s, signed, z0) => {
          const g = grid(bits, signed);
          const z = signed ? 0 : Math.max(g.qmin, Math.min(g.qmax, z0 + 2));
          const [y, yy] = tf.tidy(() => {
            const sc = tf.scalar(s);
            const zt = tf.scalar(z);
            const q = fakeQuantize(tf.tensor1d(v), sc, zt, { grid: g });
            return [q.dataSync().slice(), fakeQuantize(q, sc, zt, { grid: g }).dataSync().slice()];
          });
          const sf = Math.fround(s);
          for (let i = 0; i < y.length; i++) {
            const k = y[i]! / sf + z;
            expect(Math.abs(k - Math.round(k))).toBeLessThan(1e-3);
            expect(Math.round(k)).toBeGreaterThanOrEqual(g.qmin);
            expect(Math.round(k)).toBeLessThanOrEqual(g.qmax);
          }
          expect(canon(yy)).toEqual(canon(y));
        }),
        { numRuns: 60, seed: 42 },
      );
    });

    it('per-channel quantization equals per-tensor quantization of each channel', async () => {
      await use(backend);
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 6 }), bitsArb, fc.integer({ min: 0, max: 1000 }), (rows, cols, bits, seed) => {
          const w = new Rng(seed).normalTensor([rows, cols]);
          const perChannel = uniformWeightQuantizer({ bits, granularity: 'channel', axis: 1, estimator: 'minmax' });
          const st = perChannel.init(w);
          const full = tf.tidy(() => perChannel.apply(w, st, ctx).dataSync().slice());
          for (let c = 0; c < cols; c++) {
            const col = tf.slice(w, [0, c], [rows, 1]);
            const perTensor = uniformWeightQuantizer({ bits, granularity: 'tensor', estimator: 'minmax' });
            const s2 = perTensor.init(col);
            const got = tf.tidy(() => perTensor.apply(col, s2, ctx).dataSync());
            for (let r = 0; r < rows; r++) expect(got[r]).toBe(full[r * cols + c]);
            perTensor.dispose(s2);
            col.dispose();
          }
          perChannel.dispose(st);
          w.dispose();
        }),
        { numRuns: 30, seed: 7 },
      );
    });

    it('hardened codes dequantize to exactly the fake-quant output (signed and asymmetric, any axis)', async () => {
      await use(backend);
      fc.assert(
        fc.property(bitsArb, fc.boolean(), fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 1000 }), (bits, symmetric, axis, seed) => {
          const w = new Rng(seed).normalTensor([3, 4, 5], 0.5, 2);
          const q = uniformWeightQuantizer({ bits, axis, symmetric, estimator: 'mse' });
          const st = q.init(w);
          const y = tf.tidy(() => q.apply(w, st, ctx).dataSync());
          const h = q.harden(w, st);
          expect(h.axis).toBe(axis);
          expect(h.codes.length).toBe(60);
          const d = dequantizeHardened(h);
          expect(canon(d)).toEqual(canon(y));
          for (const c of h.codes) {
            expect(c).toBeGreaterThanOrEqual(grid(bits, symmetric).qmin);
            expect(c).toBeLessThanOrEqual(grid(bits, symmetric).qmax);
          }
          q.dispose(st);
          w.dispose();
        }),
        { numRuns: 40, seed: 3 },
      );
    });
  });
}
