import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { moveScores, paretoFront } from '../src/index.js';

function closeAll(got: number[], want: number[]): void {
  expect(got).toHaveLength(want.length);
  for (const [i, g] of got.entries()) expect(g).toBeCloseTo(want[i]!, 12);
}

describe('moveScores', () => {
  const moves = [
    { error: 0.2, cost: 60 },
    { error: 0.4, cost: 50 },
    { error: 0.1, cost: 90 },
  ];

  it("'max': errorWeight·err/err_max − (1 − cost/cost_max)", () => {
    const s = moveScores(moves, { costMax: 100 });
    expect(s[0]).toBeCloseTo(1.5 * 0.5 - 0.4, 12);
    expect(s[1]).toBeCloseTo(1.5 * 1 - 0.5, 12);
    expect(s[2]).toBeCloseTo(1.5 * 0.25 - 0.1, 12);
    closeAll(moveScores(moves, { costMax: 100, errorWeight: 0 }), [-0.4, -0.5, -0.1]);
  });

  it("'range': both terms min–max normalised over the step's moves", () => {
    const s = moveScores(moves, { costMax: 100, normalization: 'range' });
    expect(s[0]).toBeCloseTo(1.5 * (0.1 / 0.3) - 30 / 40, 12);
    expect(s[1]).toBeCloseTo(1.5 * 1 - 1, 12);
    expect(s[2]).toBeCloseTo(0 - 0, 12);
  });

  it('zero or equal errors contribute nothing; no moves, no scores', () => {
    closeAll(moveScores([{ error: 0, cost: 50 }, { error: 0, cost: 80 }], { costMax: 100 }), [-0.5, -0.2]);
    expect(moveScores([{ error: 2, cost: 50 }, { error: 2, cost: 80 }], { costMax: 100, normalization: 'range' })).toEqual([-1, 0]);
    expect(moveScores([], { costMax: 1 })).toEqual([]);
  });
});

describe('paretoFront', () => {
  it('keeps the non-dominated points sorted by cost', () => {
    const pts = [
      { cost: 5, error: 0.3, id: 'a' },
      { cost: 3, error: 0.5, id: 'b' },
      { cost: 4, error: 0.6, id: 'c' }, // dominated by b
      { cost: 5, error: 0.2, id: 'd' }, // dominates a
      { cost: 8, error: 0.2, id: 'e' }, // dominated by d
      { cost: 9, error: 0.1, id: 'f' },
      { cost: 3, error: 0.5, id: 'g' }, // duplicate of b: the first is kept
    ];
    expect(paretoFront(pts).map((p) => p.id)).toEqual(['b', 'd', 'f']);
    expect(paretoFront([])).toEqual([]);
  });

  it('property: the front is exactly the set of non-dominated points (first of duplicates)', () => {
    const point = fc.record({ cost: fc.integer({ min: 0, max: 20 }), error: fc.integer({ min: 0, max: 20 }) });
    fc.assert(
      fc.property(fc.array(point, { maxLength: 40 }), (pts) => {
        const front = paretoFront(pts);
        const dominated = (p: { cost: number; error: number }) =>
          pts.some((q) => q.cost <= p.cost && q.error <= p.error && (q.cost < p.cost || q.error < p.error));
        const expected = pts.filter((p, i) => !dominated(p) && pts.findIndex((q) => q.cost === p.cost && q.error === p.error) === i);
        expect(new Set(front)).toEqual(new Set(expected));
        expect(front).toHaveLength(expected.length);
        for (let i = 1; i < front.length; i++) {
          expect(front[i]!.cost).toBeGreaterThan(front[i - 1]!.cost);
          expect(front[i]!.error).toBeLessThan(front[i - 1]!.error);
        }
      }),
      { numRuns: 300, seed: 3 },
    );
  });
});
