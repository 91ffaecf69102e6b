import { describe, expect, it } from 'vitest';
import { fromFloat16Bits, Rng, toFloat16Bits } from '../src/index.js';

describe('float16 bits', () => {
  it('decodes every half pattern to the float32 that encodes back to it (NaNs stay NaN)', () => {
    const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const f = fromFloat16Bits(all);
    const back = toFloat16Bits(f);
    let nans = 0;
    for (let h = 0; h < 65536; h++) {
      if (Number.isNaN(f[h]!)) {
        nans++;
        expect(back[h]! & 0x7c00).toBe(0x7c00);
        continue;
      }
      if (back[h] !== h) expect.fail(`half ${h.toString(16)} → ${f[h]} → ${back[h]!.toString(16)}`);
    }
    expect(nans).toBe(2 * 1023);
    expect(f[0x3c00]).toBe(1);
    expect(f[0xc000]).toBe(-2);
    expect(f[0x0001]).toBe(2 ** -24);
    expect(f[0x7c00]).toBe(Number.POSITIVE_INFINITY);
  });

  it('round-trips float32 to within half a unit in the last place of a half (2^-11 relative, normal range)', () => {
    const rng = new Rng(5);
    const x = new Float32Array(20000);
    for (let i = 0; i < x.length; i++) x[i] = rng.normal() * 10 ** (rng.float() * 8 - 4);
    const y = fromFloat16Bits(toFloat16Bits(x));
    for (let i = 0; i < x.length; i++) {
      const a = Math.abs(x[i]!);
      if (a < 2 ** -14 || a > 65000) continue;
      expect(Math.abs(y[i]! - x[i]!)).toBeLessThanOrEqual(a * 2 ** -11 + 1e-30);
    }
  });

  it('writes into a given output and refuses one that is too short', () => {
    const out = new Float32Array(3);
    expect(fromFloat16Bits(Uint16Array.of(0x3c00, 0x4000), out)).toBe(out);
    expect(Array.from(out)).toEqual([1, 2, 0]);
    expect(() => fromFloat16Bits(Uint16Array.of(1, 2), new Float32Array(1))).toThrow(/output of 1 values for 2 inputs/);
  });
});
