import { LowbitError } from '@lowbit/core';
import { describe, expect, it } from 'vitest';
import { lowestBitLayers } from '../src/index.js';

describe('lowestBitLayers', () => {
  it('selects the layers sampled at their lowest active candidate, in sampling order', () => {
    const sampled = { conv1: 2, conv2: 4, 'block.0.conv': 3, fc: 8 };
    const lowest = { conv1: 2, conv2: 2, 'block.0.conv': 3, fc: 4, unused: 2 };
    expect(lowestBitLayers(sampled, lowest)).toEqual(['conv1', 'block.0.conv']);
  });

  it('follows the scheduler: a raised lowest candidate changes the selection', () => {
    const sampled = { a: 3, b: 3 };
    expect(lowestBitLayers(sampled, { a: 2, b: 2 })).toEqual([]);
    expect(lowestBitLayers(sampled, { a: 3, b: 2 })).toEqual(['a']);
    expect(lowestBitLayers({}, { a: 2 })).toEqual([]);
  });

  it('rejects a sampled layer without a lowest candidate (prototype keys included)', () => {
    expect(() => lowestBitLayers({ conv9: 4 }, { conv1: 2 })).toThrow(/layer 'conv9' was sampled at 4 bits but has no lowest candidate/);
    expect(() => lowestBitLayers({ toString: 4 }, {})).toThrow(/layer 'toString'/);
  });

  it('rejects bits below the lowest candidate, and non-integer bits', () => {
    try {
      lowestBitLayers({ conv1: 2 }, { conv1: 3 });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(LowbitError);
      expect((e as LowbitError).code).toBe('E_BITS');
      expect((e as LowbitError).message).toMatch(/layer 'conv1' was sampled at 2 bits, below its lowest active candidate 3/);
    }
    expect(() => lowestBitLayers({ a: 2.5 }, { a: 2 })).toThrow(/layer 'a' sampled bits must be a positive integer bit-width, got 2.5/);
    expect(() => lowestBitLayers({ a: 4 }, { a: Number.NaN })).toThrow(/layer 'a' lowest candidate must be a positive integer/);
  });
});
