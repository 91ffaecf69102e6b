import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

const bin = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'bin.js');

/** Runs the built CLI with plain node, as a user would. */
export function lowbit(...args: string[]) {
  expect(existsSync(bin), 'build the CLI first (nx runs build before test)').toBe(true);
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 600_000 });
}
