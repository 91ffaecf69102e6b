import { LowbitError } from '@lowbit/core';

/**
 * `--keep-8bit` as a list: 'first,last', 'first', 'last' (in either order, each at most once) or
 * 'none'. Anything else — an empty string, an unknown name, a repeat — is refused (E_ARG, naming
 * `flag`) rather than read as a different list.
 */
export function keepList(keep8bit: string, flag = '--keep-8bit'): Array<'first' | 'last'> {
  if (keep8bit === 'none') return [];
  const keep = keep8bit.split(',').map((s) => s.trim());
  const ok = keep.every((k) => k === 'first' || k === 'last') && new Set(keep).size === keep.length;
  if (!ok) throw new LowbitError('E_ARG', `${flag} takes 'first', 'last', 'first,last' or 'none', got '${keep8bit}'`);
  return keep as Array<'first' | 'last'>;
}
