import { LowbitError } from '@lowbit/core';
import { expect } from 'vitest';

/** Asserts that `f` throws a `LowbitError` with this code and a message matching `message`. */
export function expectLowbitError(f: () => unknown, code: string, message: RegExp): void {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(LowbitError);
    expect((e as LowbitError).code).toBe(code);
    expect((e as LowbitError).message).toMatch(message);
    return;
  }
  expect.unreachable(`expected a LowbitError ${code}`);
}
