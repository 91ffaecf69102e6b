import { Rng } from '@lowbit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  activeCandidates,
  createScheduler,
  freezeRatio,
  maxBits,
  minBits,
  restoreScheduler,
  type SchedulerState,
  sampleBits,
  updateFreezing,
} from '../src/index.js';

const FULL: readonly number[] = Object.freeze([2, 3, 4, 5, 6]);
/** A network-like key set: first and last layers fixed at 8, a depthwise layer without 2 bits. */
const layers = (): Record<string, number[]> => ({ conv1: [8], a: [...FULL], b: [6, 5, 4, 3, 2], c: [...FULL], dw: [3, 4, 5, 6], fc: [8] });

describe('freezeRatio', () => {
  it('runs a half cosine from 0.5 at the first period through 0.35 at the middle to 0.2 at the last', () => {
    expect(freezeRatio(0, 11)).toBeCloseTo(0.5, 12);
    expect(freezeRatio(5, 11)).toBeCloseTo(0.35, 12);
    expect(freezeRatio(10, 11)).toBeCloseTo(0.2, 12);
    // A quarter of the way: 0.2 + 0.3·(1 + cos(π/4))/2.
    expect(freezeRatio(1, 5)).toBeCloseTo(0.2 + (0.3 * (1 + Math.SQRT1_2)) / 2, 12);
    expect(freezeRatio(0, 1)).toBe(0.2);
  });

  it('decreases monotonically, and takes other ends', () => {
    const r = Array.from({ length: 30 }, (_, p) => freezeRatio(p, 30));
    for (let p = 1; p < r.length; p++) expect(r[p]!).toBeLessThan(r[p - 1]!);
    expect(freezeRatio(0, 4, { start: 0.8, end: 0 })).toBeCloseTo(0.8, 12);
    expect(freezeRatio(3, 4, { start: 0.8, end: 0 })).toBeCloseTo(0, 12);
  });

  it('rejects periods outside the run and ratios outside [0, 1]', () => {
    expect(() => freezeRatio(11, 11)).toThrow(/period must be an integer from 0 to 10 \(periods 11\), got 11/);
    expect(() => freezeRatio(-1, 11)).toThrow(/got -1/);
    expect(() => freezeRatio(0.5, 11)).toThrow(/period must be an integer/);
    expect(() => freezeRatio(0, 0)).toThrow(/periods must be an integer ≥ 1, got 0/);
    expect(() => freezeRatio(0, 5, { start: 1.5 })).toThrow(/start must be a ratio in \[0, 1\], got 1.5/);
  });
});

describe('createScheduler / restoreScheduler', () => {
  it('stores sorted copies, keys in a fixed order, nothing frozen', () => {
    const input = layers();
    const s = createScheduler(input);
    expect(s).toEqual({ candidates: { a: FULL, b: FULL, c: FULL, conv1: [8], dw: [3, 4, 5, 6], fc: [8] }, frozen: {} });
    expect(Object.keys(s.candidates)).toEqual(['a', 'b', 'c', 'conv1', 'dw', 'fc']);
    input['a']![0] = 7;
    expect(s.candidates['a']).toEqual(FULL);
  });

  it('rejects empty, non-integer, out-of-range and repeated bit-widths', () => {
    expect(() => createScheduler({})).toThrow(/at least one key, got an empty object/);
    expect(() => createScheduler({ l: [] })).toThrow(/candidates of key "l" must be a non-empty array of bit-widths, got \[\]/);
    expect(() => createScheduler({ l: [2, 0] })).toThrow(/must be integers from 1 to 32, got 0 in \[2, 0\]/);
    expect(() => createScheduler({ l: [33] })).toThrow(/got 33/);
    expect(() => createScheduler({ l: [2.5] })).toThrow(/got 2.5/);
    expect(() => createScheduler({ l: [4, 2, 4] })).toThrow(/lists bit-width 4 twice: \[4, 2, 4\]/);
    expect(() => createScheduler([] as unknown as Record<string, number[]>)).toThrow(/candidates must be an object/);
  });

  it('restores a JSON round trip to an equal state and checks frozen entries', () => {
    const s = updateFreezing(createScheduler(layers()), { a: 1, b: 0, c: 0, dw: 2 }, 0.5);
    const back = restoreScheduler(JSON.parse(JSON.stringify(s)));
    expect(back).toEqual(s);
    expect(back).toEqual({ candidates: s.candidates, frozen: { a: [2], dw: [3] } });
    expect(restoreScheduler({ candidates: { l: [2, 4] }, frozen: { l: [] } })).toEqual({ candidates: { l: [2, 4] }, frozen: {} });
    expect(() => restoreScheduler({ candidates: { l: [2, 4] }, frozen: { m: [2] } })).toThrow(/frozen key "m" has no candidates/);
    expect(() => restoreScheduler({ candidates: { l: [2, 4] }, frozen: { l: [3] } })).toThrow(/frozen bit-widths \[3\] of key "l" are not among its candidates \[2, 4\]/);
    expect(() => restoreScheduler({ candidates: { l: [2, 4] }, frozen: { l: [4, 2] } })).toThrow(/all its candidates \[2, 4\] frozen/);
    expect(() => restoreScheduler('x')).toThrow(/must be an object \{ candidates, frozen \}, got "x"/);
    expect(() => restoreScheduler({ candidates: { l: [2, 4] }, frozen: [] })).toThrow(/frozen must be an object/);
  });

  it('keys are looked up as own properties only', () => {
    const s = createScheduler({ ['__proto__']: [2, 4], l: [3] } as Record<string, number[]>);
    expect(activeCandidates(s, '__proto__')).toEqual([2, 4]);
    expect(() => activeCandidates(s, 'toString')).toThrow(/unknown scheduler key "toString"; known keys: __proto__, l/);
    expect(restoreScheduler(JSON.parse(JSON.stringify(s)))).toEqual(s);
  });
});

describe('updateFreezing', () => {
  it('freezes out exactly the lowest candidate of the round(ratio·n) most turbulent freezable keys', () => {
    const s0 = createScheduler(layers());
    const snapshot = JSON.stringify(s0);
    // Freezable keys: a, b, c, dw (n = 4); ratio 0.5 → 2 keys: b (0.3) and dw (0.25).
    const s1 = updateFreezing(s0, { a: 0.1, b: 0.3, c: 0.2, dw: 0.25 }, 0.5);
    expect(s1.frozen).toEqual({ b: [2], dw: [3] });
    expect(activeCandidates(s1, 'b')).toEqual([3, 4, 5, 6]);
    expect(activeCandidates(s1, 'dw')).toEqual([4, 5, 6]);
    expect(activeCandidates(s1, 'a')).toEqual(FULL);
    expect(activeCandidates(s1, 'conv1')).toEqual([8]);
    expect(minBits(s1)).toEqual({ a: 2, b: 3, c: 2, conv1: 8, dw: 4, fc: 8 });
    expect(maxBits(s1)).toEqual({ a: 6, b: 6, c: 6, conv1: 8, dw: 6, fc: 8 });
    expect(JSON.stringify(s0)).toBe(snapshot);
  });

  it('gives the previously frozen keys their full set back; a key frozen again still loses only its lowest', () => {
    const s1 = updateFreezing(createScheduler(layers()), { a: 0.1, b: 0.3, c: 0.2, dw: 0.25 }, 0.5);
    const s2 = updateFreezing(s1, { a: 0.9, b: 0, c: 0, dw: 0 }, 0.25);
    expect(s2.frozen).toEqual({ a: [2] });
    expect(activeCandidates(s2, 'b')).toEqual(FULL);
    expect(activeCandidates(s2, 'dw')).toEqual([3, 4, 5, 6]);
    const s3 = updateFreezing(s2, { a: 0.9, b: 0, c: 0, dw: 0 }, 0.25);
    expect(activeCandidates(s3, 'a')).toEqual([3, 4, 5, 6]);
    expect(updateFreezing(s3, { a: 0.9, b: 0, c: 0, dw: 0 }, 0).frozen).toEqual({});
  });

  it('never freezes single-candidate keys, even when they are the most turbulent and the ratio is 1', () => {
    const s = updateFreezing(createScheduler(layers()), { conv1: 100, fc: 50, a: 0.1, b: 0.3, c: 0.2, dw: 0.25 }, 1);
    expect(s.frozen).toEqual({ a: [2], b: [2], c: [2], dw: [3] });
    expect(activeCandidates(s, 'conv1')).toEqual([8]);
    // Round(0.35 · 4) = 1 key, round(0.375 · 4) = 2 keys (halves round up).
    expect(Object.keys(updateFreezing(s, { a: 0, b: 1, c: 0, dw: 0 }, 0.35).frozen)).toEqual(['b']);
    expect(Object.keys(updateFreezing(s, { a: 0, b: 1, c: 0, dw: 0 }, 0.375).frozen)).toEqual(['a', 'b']);
  });

  it('breaks ties by key order, whatever order the keys were given in', () => {
    const forward = createScheduler({ k1: FULL, k2: FULL, k3: FULL, k4: FULL });
    const reverse = createScheduler({ k4: FULL, k3: FULL, k2: FULL, k1: FULL });
    const same = { k4: 0.5, k3: 0.5, k2: 0.5, k1: 0.5 };
    expect(updateFreezing(forward, same, 0.5).frozen).toEqual({ k1: [2], k2: [2] });
    expect(updateFreezing(reverse, same, 0.5)).toEqual(updateFreezing(forward, same, 0.5));
    expect(updateFreezing(forward, { k1: 0.1, k2: 0.7, k3: 0.7, k4: 0.9 }, 0.5).frozen).toEqual({ k2: [2], k4: [2] });
  });

  it('rejects unknown and missing keys, bad turbulences and ratios outside [0, 1]', () => {
    const s = createScheduler(layers());
    const tb = { a: 0.1, b: 0.3, c: 0.2, dw: 0.25 };
    expect(() => updateFreezing(s, { ...tb, zz: 1 }, 0.5)).toThrow(/unknown scheduler key "zz"; known keys: a, b, c, conv1, dw, fc/);
    expect(() => updateFreezing(s, { a: 0.1, b: 0.3 }, 0.5)).toThrow(/no turbulence for freezable key\(s\) "c", "dw"/);
    expect(() => updateFreezing(s, { ...tb, a: Number.NaN }, 0.5)).toThrow(/turbulence of key "a" must be a finite number, got NaN/);
    expect(() => updateFreezing(s, tb, 1.2)).toThrow(/ratio must be in \[0, 1\], got 1.2/);
    expect(() => updateFreezing(s, tb, -0.1)).toThrow(/got -0.1/);
    expect(() => updateFreezing(s, tb, Number.NaN)).toThrow(/got NaN/);
  });

  it('invariants on random key sets (property)', () => {
    const keyArb = fc.string({ minLength: 1, maxLength: 3 });
    const candArb = fc.uniqueArray(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 5 });
    fc.assert(
      fc.property(
        fc.dictionary(keyArb, fc.tuple(candArb, fc.integer({ min: 0, max: 4 })), { minKeys: 1, maxKeys: 12 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (spec, ratio) => {
          const keys = Object.keys(spec);
          const s = createScheduler(Object.fromEntries(keys.map((k) => [k, spec[k]![0]])));
          // Few distinct turbulence values, so ties are common.
          const tb = Object.fromEntries(keys.map((k) => [k, spec[k]![1] / 4]));
          const next = updateFreezing(s, tb, ratio);
          const freezable = keys.filter((k) => s.candidates[k]!.length >= 2);
          const frozen = Object.keys(next.frozen);
          expect(frozen.length).toBe(Math.round(ratio * freezable.length));
          for (const k of frozen) {
            expect(next.frozen[k]).toEqual([s.candidates[k]![0]]);
            expect(activeCandidates(next, k)).toEqual(s.candidates[k]!.slice(1));
          }
          const rest = freezable.filter((k) => !frozen.includes(k));
          for (const k of frozen) for (const r of rest) expect(tb[k]! > tb[r]! || (tb[k] === tb[r] && k < r)).toBe(true);
          const shuffled = createScheduler(Object.fromEntries(keys.reverse().map((k) => [k, spec[k]![0]])));
          expect(updateFreezing(shuffled, tb, ratio)).toEqual(next);
        },
      ),
      { numRuns: 200, seed: 11 },
    );
  });
});

describe('sampleBits', () => {
  const frozenState = (): SchedulerState => updateFreezing(createScheduler(layers()), { a: 0.1, b: 0.3, c: 0.2, dw: 0.25 }, 0.5);

  it('is reproducible for a seed and draws only active candidates', () => {
    const s = frozenState();
    const draws = (seed: number) => {
      const rng = new Rng(seed);
      return Array.from({ length: 500 }, () => sampleBits(s, rng));
    };
    const d1 = draws(3);
    expect(draws(3)).toEqual(d1);
    expect(draws(4)).not.toEqual(d1);
    for (const k of Object.keys(s.candidates)) {
      const seen = new Set(d1.map((d) => d[k]!));
      expect([...seen].sort((x, y) => x - y)).toEqual(activeCandidates(s, k));
    }
  });

  it('is roughly uniform over the active candidates (chi-square, p = 0.001 bound)', () => {
    const s = frozenState();
    const rng = new Rng(2024);
    const n = 20_000;
    const counts: Record<string, Map<number, number>> = {};
    for (let i = 0; i < n; i++) {
      for (const [k, b] of Object.entries(sampleBits(s, rng))) {
        counts[k] ??= new Map();
        counts[k].set(b, (counts[k].get(b) ?? 0) + 1);
      }
    }
    // 99.9% quantiles of chi-square with df = 2, 3, 4.
    const bound: Record<number, number> = { 2: 13.82, 3: 16.27, 4: 18.47 };
    for (const k of ['a', 'b', 'c', 'dw']) {
      const active = activeCandidates(s, k);
      const e = n / active.length;
      const chi2 = active.reduce((acc, b) => acc + ((counts[k]!.get(b) ?? 0) - e) ** 2 / e, 0);
      expect(chi2).toBeLessThan(bound[active.length - 1]!);
    }
  });

  it('makes one draw per key in key order, whatever is frozen, so the generator state stays in step', () => {
    const s0 = createScheduler(layers());
    const s1 = frozenState();
    const [r0, r1, ref] = [new Rng(9), new Rng(9), new Rng(9)];
    sampleBits(s0, r0);
    sampleBits(s1, r1);
    for (let i = 0; i < 6; i++) ref.int(2);
    expect(r0.state()).toEqual(ref.state());
    expect(r1.state()).toEqual(ref.state());
    // Key a is the first key drawn, whatever the insertion order.
    const firstDraw = FULL[new Rng(5).int(5)];
    expect(sampleBits(s0, new Rng(5))['a']).toBe(firstDraw);
  });

  it('draws a subset of keys in key order; rejects unknown and repeated keys', () => {
    const s = frozenState();
    const ab = sampleBits(s, new Rng(1), ['b', 'a']);
    expect(Object.keys(ab)).toEqual(['a', 'b']);
    expect(sampleBits(s, new Rng(1), ['a', 'b'])).toEqual(ab);
    expect(() => sampleBits(s, new Rng(1), ['a', 'nope'])).toThrow(/unknown scheduler key "nope"/);
    expect(() => sampleBits(s, new Rng(1), ['a', 'b', 'a'])).toThrow(/key\(s\) "a" listed more than once/);
  });

  it('a state and generator restored from JSON continue exactly', () => {
    const s = frozenState();
    const rng = new Rng(77);
    sampleBits(s, rng);
    const saved = JSON.stringify({ scheduler: s, rng: rng.state() });
    const expected = Array.from({ length: 20 }, () => sampleBits(s, rng));
    const back = JSON.parse(saved) as { scheduler: unknown; rng: [number, number, number, number] };
    const s2 = restoreScheduler(back.scheduler);
    const rng2 = new Rng(back.rng);
    expect(Array.from({ length: 20 }, () => sampleBits(s2, rng2))).toEqual(expected);
  });
});
