import { LowbitError } from './errors.js';

/**
 * Checks that `p`, a file name a model.json lists (a weight shard), stays inside the model's
 * folder: a relative path without `..` segments, no absolute path, drive letter, URL scheme or
 * NUL. Returns it unchanged; otherwise throws E_FORMAT naming `source` and `field`.
 * (`../../etc/passwd` in a downloaded model must not read a file outside it.)
 */
export function confinedPath(p: unknown, source: string, field: string): string {
  const bad = (why: string) => new LowbitError('E_FORMAT', `${source}: field '${field}' must be a file name inside the model's folder, got ${JSON.stringify(p)} (${why})`);
  if (typeof p !== 'string' || p.length === 0) throw bad('not a non-empty string');
  if (p.includes('\0')) throw bad('a NUL character');
  if (/^[\\/]/.test(p)) throw bad('an absolute path');
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(p)) throw bad('a drive letter or URL scheme');
  if (p.split(/[\\/]/).some((s) => s === '..')) throw bad("a '..' segment leaves the folder");
  return p;
}
