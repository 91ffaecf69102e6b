import { describe, expect, it } from 'vitest';
import { constant, cosine, linear, piecewise, progress, warmup } from '../src/index.js';

describe('schedules', () => {
  it('linear goes from `from` at the first step to `to` at the last', () => {
    const s = linear(1, 0.01);
    expect(s(0, 100)).toBe(1);
    expect(s(99, 100)).toBeCloseTo(0.01, 12);
    expect(s(49.5, 100)).toBeCloseTo(0.505, 12);
  });
  it('cosine is monotone between its ends', () => {
    const s = cosine(0.5, 0.2);
    expect(s(0, 11)).toBeCloseTo(0.5, 12);
    expect(s(10, 11)).toBeCloseTo(0.2, 12);
    expect(s(5, 11)).toBeCloseTo(0.35, 12);
    for (let i = 1; i < 11; i++) expect(s(i, 11)).toBeLessThanOrEqual(s(i - 1, 11));
  });
  it('constant and progress', () => {
    expect(constant(3)(5, 10)).toBe(3);
    expect(progress(0, 1)).toBe(1);
    expect(progress(20, 10)).toBe(1);
  });
  it('piecewise runs each segment on its own local clock', () => {
    const beta = piecewise([
      [0.2, constant(20)],
      [1, linear(20, 2)],
    ]);
    expect(beta(0, 100)).toBe(20);
    expect(beta(19, 100)).toBe(20);
    expect(beta(20, 100)).toBe(20);
    expect(beta(99, 100)).toBeCloseTo(2, 12);
    expect(beta(60, 100)).toBeGreaterThan(2);
    expect(beta(60, 100)).toBeLessThan(20);
  });
  it('piecewise rejects bad segment ends', () => {
    expect(() => piecewise([[0.5, constant(1)]])).toThrow(/end at 1/);
    expect(() => piecewise([])).toThrow(/at least one/);
    expect(() =>
      piecewise([
        [0.6, constant(1)],
        [0.4, constant(1)],
        [1, constant(1)],
      ]),
    ).toThrow(/increase/);
  });
  it('warmup ramps to the peak then hands over', () => {
    const lr = warmup(0.1, 0.1, cosine(0.1, 0));
    expect(lr(0, 100)).toBeCloseTo(0.01, 12);
    expect(lr(9, 100)).toBeCloseTo(0.1, 12);
    expect(lr(10, 100)).toBeCloseTo(0.1, 12);
    expect(lr(99, 100)).toBeCloseTo(0, 12);
  });
});
