import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@lowbit/core';
import { beforeAll, describe, expect, it, vi } from 'vitest';

beforeAll(() => initBackend({ backend: 'wasm', fallback: false }));

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The README's example, importing the package sources; written next to the test results (git-ignored). */
function exampleModule(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const code = /## Example\s+```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  if (code === undefined) throw new Error('README.md has no ts block under "## Example"');
  const src = pathToFileURL(join(root, 'src', 'index.ts')).href;
  const out = join(root, '.vitest-results', 'readme-example.ts');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, code.replace("from '@lowbit/bitwidth-scheduler'", `from '${src}'`));
  return out;
}

describe('README example', () => {
  it('runs, freezes one of the two layers while the ratio rounds to one, and leaves no tensors', async () => {
    const file = exampleModule();
    const before = tf.memory().numTensors;
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      await import(/* @vite-ignore */ pathToFileURL(file).href);
      const lines = log.mock.calls;
      expect(lines.map((l) => l[0])).toEqual([0, 1, 2, 3, 4, 5]);
      for (const [period, ratio, frozen, bits] of lines as Array<[number, string, Record<string, number[]>, Record<string, number>]>) {
        const keys = Object.keys(frozen);
        expect(keys.length).toBe(Math.round(Number(ratio) * 2));
        for (const k of keys) expect(frozen[k]).toEqual([2]);
        expect(bits['stem']).toBe(8);
        expect(bits['head']).toBe(8);
        for (const k of keys) expect(bits[k]).toBeGreaterThanOrEqual(3);
        if (period === 0) expect(keys.length).toBe(1);
        if (period === 5) expect(keys).toEqual([]);
      }
    } finally {
      log.mockRestore();
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});
