/**
 * `max |a − b| / max(max |b|, tiny)`: the max-norm error of `a` relative to the reference `b`.
 * What lowbit's tests and benchmarks use to compare a computation with its reference.
 */
export function maxRelError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`maxRelError: length mismatch ${a.length} vs ${b.length}`);
  let num = 0;
  let den = 1e-12;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / den;
}
