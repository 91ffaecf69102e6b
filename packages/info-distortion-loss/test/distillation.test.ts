import * as tf from '@tensorflow/tfjs-core';
import { initBackend, LowbitError, maxRelError, Rng } from '@lowbit/core';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { distillationLoss, klDistillation } from '../src/index.js';
import { expectLowbitError } from './helpers.js';
import { ce64, kl64, logSoftmax64, numericGrad } from './reference.js';

beforeAll(() => initBackend({ backend: 'wasm', fallback: false }));

const B = 5;
const C = 7;

function logits(seed: number, scale = 3): [Float32Array, Float32Array] {
  const rng = new Rng(seed);
  return [rng.uniformArray(B * C, -scale, scale), rng.uniformArray(B * C, -scale, scale)];
}

/** `T · (softmax(s/T) − softmax(t/T)) / rows`, the analytic KL gradient w.r.t. the student. */
function klGrad64(s: Float32Array, t: Float32Array, rows: number, classes: number, temperature: number): number[] {
  const lq = logSoftmax64(s, rows, classes, temperature);
  const lp = logSoftmax64(t, rows, classes, temperature);
  return Array.from(lq, (v, i) => (temperature * (Math.exp(v) - Math.exp(lp[i]!))) / rows);
}

describe('klDistillation', () => {
  it('is exactly zero when the logits are equal, at any temperature', () => {
    tf.tidy(() => {
      const [s] = logits(1);
      const z = tf.tensor2d(s, [B, C]);
      expect(klDistillation(z, z).dataSync()[0]).toBe(0);
      expect(klDistillation(z, tf.clone(z), { temperature: 4 }).dataSync()[0]).toBe(0);
    });
  });

  it('matches a float64 KL(teacher ‖ student) on random logits (≤ 1e-5 relative)', () => {
    tf.tidy(() => {
      for (const seed of [2, 3, 4]) {
        const [s, t] = logits(seed);
        const v = klDistillation(tf.tensor2d(s, [B, C]), tf.tensor2d(t, [B, C]));
        expect(v.shape).toEqual([]);
        expect(maxRelError(v.dataSync(), [kl64(s, t, B, C)])).toBeLessThan(1e-5);
      }
    });
  });

  it('is the teacher-to-student direction (not the symmetric or reverse KL)', () => {
    tf.tidy(() => {
      const s = [4, 0, 0];
      const t = [0, 0, 1];
      const v = klDistillation(tf.tensor2d(s, [1, 3]), tf.tensor2d(t, [1, 3])).dataSync()[0]!;
      expect(maxRelError([v], [kl64(s, t, 1, 3)])).toBeLessThan(1e-5);
      expect(Math.abs(v - kl64(t, s, 1, 3))).toBeGreaterThan(0.1);
    });
  });

  it('is non-negative and finite, including for huge logits (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), fc.constantFrom(0.01, 1, 30, 1000), fc.constantFrom(0.5, 1, 4), (seed, scale, temperature) => {
        const [s, t] = logits(seed, scale);
        const v = tf.tidy(() => klDistillation(tf.tensor2d(s, [B, C]), tf.tensor2d(t, [B, C]), { temperature }).dataSync()[0]!);
        expect(Number.isFinite(v)).toBe(true);
        expect(v).toBeGreaterThanOrEqual(-1e-6);
        const ref = kl64(s, t, B, C, temperature);
        expect(Math.abs(v - ref)).toBeLessThanOrEqual(1e-5 * Math.max(ref, 1) + 1e-6);
      }),
      { numRuns: 40, seed: 3 },
    );
  });

  it('gradient w.r.t. the student matches central differences of the float64 KL; zero w.r.t. the teacher', () => {
    tf.tidy(() => {
      for (const temperature of [1, 2.5]) {
        const [s, t] = logits(5);
        const [gs, gt] = tf.grads((a: tf.Tensor, b: tf.Tensor) => klDistillation(a, b, { temperature }))([tf.tensor2d(s, [B, C]), tf.tensor2d(t, [B, C])]);
        const numeric = numericGrad((x) => kl64(x, t, B, C, temperature), s, 1e-5);
        expect(maxRelError(gs!.dataSync(), numeric)).toBeLessThan(1e-4);
        expect(maxRelError(gs!.dataSync(), klGrad64(s, t, B, C, temperature))).toBeLessThan(1e-5);
        expect(gt!.dataSync().every((g) => g === 0)).toBe(true);
      }
    });
  });

  it('temperature: T² · KL(softmax(t/T) ‖ softmax(s/T)), equal to T² × the T = 1 loss of the scaled logits', () => {
    tf.tidy(() => {
      const [s, t] = logits(6);
      const st = tf.tensor2d(s, [B, C]);
      const tt = tf.tensor2d(t, [B, C]);
      for (const T of [0.5, 2, 4]) {
        const v = klDistillation(st, tt, { temperature: T }).dataSync()[0]!;
        expect(maxRelError([v], [kl64(s, t, B, C, T)])).toBeLessThan(1e-5);
        const scaled = klDistillation(tf.div(st, T), tf.div(tt, T)).dataSync()[0]!;
        expect(maxRelError([v], [T * T * scaled])).toBeLessThan(1e-5);
      }
      expect(klDistillation(st, tt, { temperature: 1 }).dataSync()[0]).toBe(klDistillation(st, tt).dataSync()[0]);
    });
  });

  it('averages over all rows of [..., classes] logits', () => {
    tf.tidy(() => {
      const [s, t] = logits(7);
      const v = klDistillation(tf.tensor3d(s.slice(0, 30), [2, 3, 5]), tf.tensor3d(t.slice(0, 30), [2, 3, 5]));
      expect(maxRelError(v.dataSync(), [kl64(s.slice(0, 30), t.slice(0, 30), 6, 5)])).toBeLessThan(1e-5);
    });
  });

  it('rejects mismatched shapes (naming both), scalars, int logits and bad temperatures', () => {
    tf.tidy(() => {
      const a = tf.zeros([4, 10]);
      expectLowbitError(
        () => klDistillation(a, tf.zeros([4, 9])),
        'E_SHAPE',
        /KL distillation: student logits have shape \[4, 10\] but teacher logits have shape \[4, 9\]/,
      );
      expectLowbitError(() => klDistillation(tf.scalar(1), tf.scalar(1)), 'E_SHAPE', /rank ≥ 1/);
      expectLowbitError(() => klDistillation(a, tf.zeros([4, 10], 'int32')), 'E_ARG', /teacher logits must be float32, got int32/);
      for (const temperature of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
        expectLowbitError(() => klDistillation(a, a, { temperature }), 'E_ARG', /temperature must be a finite number > 0/);
      }
    });
  });
});

describe('distillationLoss', () => {
  const labels = [0, 6, 3, 3, 1];

  it('defaults to 0.5·CE + 0.5·KL (float64 reference)', () => {
    tf.tidy(() => {
      const [s, t] = logits(8);
      const v = distillationLoss(tf.tensor2d(s, [B, C]), tf.tensor2d(t, [B, C]), tf.tensor1d(labels, 'int32'));
      const ref = 0.5 * ce64(s, labels, B, C) + 0.5 * kl64(s, t, B, C);
      expect(v.shape).toEqual([]);
      expect(maxRelError(v.dataSync(), [ref])).toBeLessThan(1e-5);
    });
  });

  it('custom weights; the temperature applies to the KL only; zero-weight terms drop out', () => {
    tf.tidy(() => {
      const [s, t] = logits(9);
      const st = tf.tensor2d(s, [B, C]);
      const tt = tf.tensor2d(t, [B, C]);
      const y = tf.tensor1d(labels, 'float32');
      const v = distillationLoss(st, tt, y, { ceWeight: 0.3, klWeight: 2, temperature: 3 }).dataSync()[0]!;
      expect(maxRelError([v], [0.3 * ce64(s, labels, B, C) + 2 * kl64(s, t, B, C, 3)])).toBeLessThan(1e-5);
      const ceOnly = distillationLoss(st, tt, y, { klWeight: 0 }).dataSync()[0]!;
      expect(maxRelError([ceOnly], [0.5 * ce64(s, labels, B, C)])).toBeLessThan(1e-5);
      const klOnly = distillationLoss(st, tt, y, { ceWeight: 0, klWeight: 1 }).dataSync()[0]!;
      expect(maxRelError([klOnly], [kl64(s, t, B, C)])).toBeLessThan(1e-5);
      expect(distillationLoss(st, tt, y, { ceWeight: 0, klWeight: 0 }).dataSync()[0]).toBe(0);
    });
  });

  it('gradient: ceWeight·(softmax − onehot)/B + klWeight·T·(p_s − p_t)/B to the student, zero to the teacher', () => {
    tf.tidy(() => {
      const [s, t] = logits(10);
      const T = 2;
      const y = tf.tensor1d(labels, 'int32');
      const [gs, gt] = tf.grads((a: tf.Tensor, b: tf.Tensor) => distillationLoss(a, b, y, { temperature: T }))([tf.tensor2d(s, [B, C]), tf.tensor2d(t, [B, C])]);
      const numeric = numericGrad((x) => 0.5 * ce64(x, labels, B, C) + 0.5 * kl64(x, t, B, C, T), s, 1e-5);
      expect(maxRelError(gs!.dataSync(), numeric)).toBeLessThan(1e-4);
      const lq = logSoftmax64(s, B, C);
      const kg = klGrad64(s, t, B, C, T);
      const analytic = Array.from(lq, (v, i) => (0.5 * (Math.exp(v) - (labels[Math.floor(i / C)] === i % C ? 1 : 0))) / B + 0.5 * kg[i]!);
      expect(maxRelError(gs!.dataSync(), analytic)).toBeLessThan(1e-5);
      expect(gt!.dataSync().every((g) => g === 0)).toBe(true);
    });
  });

  it('validates everything before computing', () => {
    tf.tidy(() => {
      const a = tf.zeros([B, C]);
      const y = tf.tensor1d(labels, 'int32');
      expectLowbitError(() => distillationLoss(a, tf.zeros([B, C + 1]), y), 'E_SHAPE', /distillation: student logits have shape \[5, 7\] but teacher logits have shape \[5, 8\]/);
      expectLowbitError(() => distillationLoss(a, a, tf.tensor1d([0, 1], 'int32')), 'E_SHAPE', /distillation: labels must have shape \[5\]/);
      expectLowbitError(() => distillationLoss(a, a, tf.tensor1d([0, 1, 2, 3, 7], 'int32')), 'E_ARG', /label 4 is 7/);
      expectLowbitError(() => distillationLoss(a, a, y, { ceWeight: -0.5 }), 'E_ARG', /distillation ceWeight must be a finite number ≥ 0, got -0.5/);
      expectLowbitError(() => distillationLoss(a, a, y, { klWeight: Number.POSITIVE_INFINITY }), 'E_ARG', /distillation klWeight/);
      expectLowbitError(() => distillationLoss(a, a, y, { temperature: 0 }), 'E_ARG', /distillation temperature must be a finite number > 0, got 0/);
    });
  });

  it('does not leak tensors (values, gradients, errors)', () => {
    const [s, t] = logits(11);
    const st = tf.tensor2d(s, [B, C]);
    const tt = tf.tensor2d(t, [B, C]);
    const y = tf.tensor1d(labels, 'int32');
    const bad = tf.tensor1d([9, 9, 9, 9, 9], 'int32');
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) {
      tf.tidy(() => {
        distillationLoss(st, tt, y);
        distillationLoss(st, tt, y, { temperature: 3, ceWeight: 0 });
        klDistillation(st, tt, { temperature: 2 });
        tf.grads((a: tf.Tensor, b: tf.Tensor) => distillationLoss(a, b, y, { temperature: 2 }))([st, tt]);
      });
      distillationLoss(st, tt, y).dispose();
      expect(() => distillationLoss(st, tt, bad)).toThrow(LowbitError);
      expect(() => klDistillation(st, bad)).toThrow(LowbitError);
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([st, tt, y, bad]);
  });
});
