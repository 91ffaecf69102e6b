/**
 * The one error type lowbit throws for bad input. The message always says what was wrong,
 * where (file / field / layer when known), what was expected and what was found.
 */
export class LowbitError extends Error {
  readonly code: string;
  readonly details: Record<string, unknown>;

  constructor(code: string, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'LowbitError';
    this.code = code;
    this.details = details;
  }
}

/** Throws a `LowbitError` unless `cond` holds. */
export function check(
  cond: unknown,
  code: string,
  message: () => string,
  details?: Record<string, unknown>,
): asserts cond {
  if (!cond) throw new LowbitError(code, message(), details);
}
