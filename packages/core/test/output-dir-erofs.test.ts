// Node's recursive mkdir says ENOENT for any failure below the first missing folder (measured: a
// read-only mount gives ENOENT recursively, EROFS for a single mkdir). No read-only file system can
// be mounted in a test, so the file system's answers are replayed here.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';

const root = mkdtempSync(join(tmpdir(), 'lowbit-outdir-ro-'));
const readOnly = join(root, 'ro');

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const fail = (code: string) => Object.assign(new Error(`${code}: mkdir`), { code });
  return {
    ...fs,
    mkdirSync: (p: string, o?: { recursive?: boolean }) => {
      if (String(p).startsWith(readOnly)) throw fail(o?.recursive ? 'ENOENT' : 'EROFS');
      return fs.mkdirSync(p, o);
    },
  };
});

const { prepareOutputDir } = await import('../src/node/index.js');
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('prepareOutputDir on a read-only file system', () => {
  it('reports EROFS, not the ENOENT of the recursive mkdir', () => {
    expect(() => prepareOutputDir(join(readOnly, 'a', 'b'))).toThrow(/--out .*\/ro\/a\/b: cannot create it \(EROFS\)/);
  });
});
