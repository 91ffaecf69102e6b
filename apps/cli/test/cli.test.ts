import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const bin = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'bin.js');

/** Runs the built CLI with plain node, as a user would. */
export function lowbit(...args: string[]) {
  expect(existsSync(bin), 'build the CLI first (nx runs build before test)').toBe(true);
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 300_000 });
}

describe('lowbit info (built CLI, plain node)', () => {
  it('trains a step of resnet-fm on wasm and reports its size', () => {
    const r = lowbit('info', '--batch', '4', '--repeats', '1', '--json');
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ model: 'resnet-fm', backend: 'wasm', params: 77_754, batch: 4 });
    expect(j.macsPerSample).toBeGreaterThan(9_000_000);
    for (const k of ['forwardMs', 'forwardBackwardMs', 'trainStepMs']) expect(j[k]).toBeGreaterThan(0);
  });

  it('rejects bad options with a clear message', () => {
    const r = lowbit('info', '--batch', 'zero');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/--batch must be a positive integer, got 'zero'/);
    const m = lowbit('info', '--model', 'vgg', '--repeats', '1');
    expect(m.status).toBe(2);
    expect(m.stderr).toMatch(/unknown reference model 'vgg'/);
  });
});
