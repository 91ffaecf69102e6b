import * as tf from '@tensorflow/tfjs-core';
import { initBackend, LowbitError, maxRelError, Rng } from '@lowbit/core';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_IDM_WEIGHT, idmLoss } from '../src/index.js';
import { expectLowbitError } from './helpers.js';
import { idm64 } from './reference.js';

beforeAll(() => initBackend({ backend: 'wasm', fallback: false }));

const SHAPES: Record<string, number[]> = { conv1: [2, 4, 4, 3], conv2: [2, 2, 2, 5], fc: [2, 7] };

/** Random student/teacher features for every layer of `SHAPES`, plus their values. */
function features(seed: number) {
  const rng = new Rng(seed);
  const student = new Map<string, tf.Tensor>();
  const teacher = new Map<string, tf.Tensor>();
  const values = new Map<string, [Float32Array, Float32Array]>();
  for (const [name, shape] of Object.entries(SHAPES)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const s = rng.uniformArray(n, -2, 2);
    const t = rng.uniformArray(n, -2, 2);
    student.set(name, tf.tensor(s, shape));
    teacher.set(name, tf.tensor(t, shape));
    values.set(name, [s, t]);
  }
  return { student, teacher, values };
}

describe('idmLoss', () => {
  it('equals weight · Σ_l mean((s − t)²) over the listed layers only (float64 reference)', () => {
    tf.tidy(() => {
      const { student, teacher, values } = features(1);
      const pairs = (names: string[]) => names.map((n) => values.get(n)!);
      const all = ['conv1', 'conv2', 'fc'];
      const v = idmLoss(student, teacher, all).dataSync()[0]!;
      expect(DEFAULT_IDM_WEIGHT).toBe(0.01);
      expect(maxRelError([v], [idm64(pairs(all), 0.01)])).toBeLessThan(1e-5);
      const sub = idmLoss(student, teacher, ['fc', 'conv1'], { weight: 0.3 }).dataSync()[0]!;
      expect(maxRelError([sub], [idm64(pairs(['fc', 'conv1']), 0.3)])).toBeLessThan(1e-5);
    });
  });

  it('matches the float64 reference on random shapes and values (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 4 }),
        fc.double({ min: 0, max: 10, noNaN: true }),
        fc.integer({ min: 0, max: 1000 }),
        (shapes, weight, seed) => {
          const rng = new Rng(seed);
          const student = new Map<string, tf.Tensor>();
          const teacher = new Map<string, tf.Tensor>();
          const pairs: [Float32Array, Float32Array][] = [];
          const v = tf.tidy(() => {
            shapes.forEach((shape, i) => {
              const n = shape.reduce((a, b) => a * b, 1);
              const s = rng.uniformArray(n, -3, 3);
              const t = rng.uniformArray(n, -3, 3);
              pairs.push([s, t]);
              student.set(`l${i}`, tf.tensor(s, shape));
              teacher.set(`l${i}`, tf.tensor(t, shape));
            });
            return idmLoss(student, teacher, [...student.keys()], { weight }).dataSync()[0]!;
          });
          const ref = idm64(pairs, weight);
          expect(Math.abs(v - ref)).toBeLessThanOrEqual(1e-5 * Math.max(ref, 1e-6));
        },
      ),
      { numRuns: 40, seed: 7 },
    );
  });

  it('IDM gradient flows only to the student: 2·weight·(s − t)/N per layer, exactly zero to the teacher', () => {
    tf.tidy(() => {
      const { student, teacher, values } = features(2);
      const names = ['conv1', 'fc'];
      const weight = 0.05;
      const inputs = [...names.map((n) => student.get(n)!), ...names.map((n) => teacher.get(n)!)];
      const grads = tf.grads((...xs: tf.Tensor[]) => {
        const sm = new Map(names.map((n, i) => [n, xs[i]!]));
        const tm = new Map(names.map((n, i) => [n, xs[names.length + i]!]));
        return idmLoss(sm, tm, names, { weight });
      })(inputs);
      names.forEach((name, i) => {
        const [s, t] = values.get(name)!;
        const expected = Array.from(s, (sv, k) => (2 * weight * (sv - t[k]!)) / s.length);
        const gs = grads[i]!;
        expect(gs.shape).toEqual(SHAPES[name]);
        expect(maxRelError(gs.dataSync(), expected)).toBeLessThan(1e-5);
        const gt = grads[names.length + i]!;
        expect(gt.shape).toEqual(SHAPES[name]);
        expect(gt.dataSync().every((g) => g === 0)).toBe(true);
      });
    });
  });

  it('the same term without detach would pull the teacher (the zero above is not vacuous)', () => {
    tf.tidy(() => {
      const s = tf.tensor1d([1, 2]);
      const t = tf.tensor1d([0, 0]);
      const [, gt] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.mean(tf.squaredDifference(a, b)))([s, t]);
      expect(Array.from(gt!.dataSync())).toEqual([-1, -2]);
      const [, gtIdm] = tf.grads((a: tf.Tensor, b: tf.Tensor) => idmLoss(new Map([['x', a]]), new Map([['x', b]]), ['x'], { weight: 1 }))([s, t]);
      expect(Array.from(gtIdm!.dataSync())).toEqual([0, 0]);
    });
  });

  it('an empty layer list gives scalar 0; weight 0 gives 0', () => {
    tf.tidy(() => {
      const { student, teacher } = features(3);
      const z = idmLoss(student, teacher, []);
      expect(z.shape).toEqual([]);
      expect(z.dataSync()[0]).toBe(0);
      expect(idmLoss(student, teacher, ['fc'], { weight: 0 }).dataSync()[0]).toBe(0);
      expect(idmLoss(new Map(), new Map(), []).dataSync()[0]).toBe(0);
    });
  });

  it('identical features give exactly 0', () => {
    tf.tidy(() => {
      const { student } = features(4);
      expect(idmLoss(student, student, ['conv1', 'conv2', 'fc']).dataSync()[0]).toBe(0);
    });
  });

  it('names the layer and both shapes on a mismatch; names the missing side', () => {
    tf.tidy(() => {
      const { student, teacher } = features(5);
      const bad = new Map(teacher);
      bad.set('conv2', tf.zeros([2, 2, 2, 4]));
      expectLowbitError(
        () => idmLoss(student, bad, ['conv1', 'conv2']),
        'E_SHAPE',
        /layer 'conv2' student feature has shape \[2, 2, 2, 5\] but its teacher feature has shape \[2, 2, 2, 4\]/,
      );
      expectLowbitError(() => idmLoss(student, teacher, ['conv1', 'head']), 'E_NOT_FOUND', /no student \(random-bit pass\) feature for layer 'head'/);
      const noTeacher = new Map(teacher);
      noTeacher.delete('fc');
      expectLowbitError(() => idmLoss(student, noTeacher, ['fc']), 'E_NOT_FOUND', /no teacher \(max-bits pass\) feature for layer 'fc'/);
    });
  });

  it('rejects duplicate layers, bad weights and non-float features', () => {
    tf.tidy(() => {
      const { student, teacher } = features(6);
      expectLowbitError(() => idmLoss(student, teacher, ['fc', 'fc']), 'E_ARG', /layer 'fc' is listed twice/);
      expectLowbitError(() => idmLoss(student, teacher, ['fc'], { weight: -1 }), 'E_ARG', /IDM weight must be a finite number ≥ 0, got -1/);
      expectLowbitError(() => idmLoss(student, teacher, ['fc'], { weight: Number.NaN }), 'E_ARG', /got NaN/);
      const ints = new Map([['fc', tf.zeros([2, 7], 'int32')]]);
      expectLowbitError(() => idmLoss(ints, teacher, ['fc']), 'E_ARG', /layer 'fc' student feature must be float32, got int32/);
    });
  });

  it('does not leak tensors, on success, under tf.grads, or on error', () => {
    const { student, teacher } = features(7);
    const names = ['conv1', 'conv2', 'fc'];
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) {
      tf.tidy(() => {
        idmLoss(student, teacher, names);
        idmLoss(student, teacher, []);
        tf.grads((a: tf.Tensor, b: tf.Tensor) => idmLoss(new Map([['fc', a]]), new Map([['fc', b]]), ['fc']))([student.get('fc')!, teacher.get('fc')!]);
      });
      idmLoss(student, teacher, names).dispose();
      expect(() => idmLoss(student, new Map(), names)).toThrow(LowbitError);
    }
    expect(tf.memory().numTensors).toBe(before);
    for (const t of [...student.values(), ...teacher.values()]) t.dispose();
  });
});
