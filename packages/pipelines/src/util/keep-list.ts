/** `--keep-8bit` as a list ('first,last', 'first', 'last', 'none' or ''). */
export function keepList(keep8bit: string): Array<'first' | 'last'> {
  return (keep8bit === 'none' || keep8bit === '' ? [] : keep8bit.split(',').map((s) => s.trim())) as Array<'first' | 'last'>;
}
