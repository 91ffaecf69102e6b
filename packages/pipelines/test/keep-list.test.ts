import { describe, expect, it } from 'vitest';
import { keepList } from '../src/util/keep-list.js';

describe('keepList', () => {
  it('reads the four settings, in either order and with spaces', () => {
    expect(keepList('first,last')).toEqual(['first', 'last']);
    expect(keepList('last, first')).toEqual(['last', 'first']);
    expect(keepList('first')).toEqual(['first']);
    expect(keepList('none')).toEqual([]);
  });

  it.each(['', 'first,first', 'middle', 'first,,last', 'none,first', 'FIRST'])('refuses %j with the flag named', (v) => {
    expect(() => keepList(v)).toThrow(new RegExp(`^--keep-8bit takes 'first', 'last', 'first,last' or 'none', got '${v}'$`));
    expect(() => keepList(v, 'keep8bit')).toThrow(/^keep8bit takes/);
  });
});
