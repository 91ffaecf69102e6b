import { describe, expect, it } from 'vitest';
import { LowbitError, parseJsonText } from '../src/index.js';

describe('parseJsonText', () => {
  it('reads JSON with and without a UTF-8 byte-order mark', () => {
    expect(parseJsonText('{"a":[1,2]}', 'x.json')).toEqual({ a: [1, 2] });
    expect(parseJsonText('\ufeff{"a":[1,2]}', 'x.json')).toEqual({ a: [1, 2] });
  });

  it('malformed text: a LowbitError naming the source, with the given code', () => {
    const thrown = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e as LowbitError;
      }
      throw new Error('did not throw');
    };
    const e = thrown(() => parseJsonText('{"a":', '/m/model.json'));
    expect(e).toBeInstanceOf(LowbitError);
    expect(e.code).toBe('E_FORMAT');
    expect(e.message).toMatch(/^\/m\/model\.json: not valid JSON \(.+\)$/);
    expect(thrown(() => parseJsonText('', 'p.json', 'E_POLICY')).code).toBe('E_POLICY');
    // a BOM is only skipped at the start
    expect(() => parseJsonText('{"a":1}\ufeff', 'x.json')).toThrow(/x\.json: not valid JSON/);
  });
});
