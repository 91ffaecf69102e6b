// --out is checked before any work (issue 20): each bad --out exits 2 with one line naming it, and
// nothing is written or replaced — in particular not the input model's own folder.
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tfjs from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lowbit, saveLayersModel } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'lowbit-cli-out-'));
const modelDir = join(root, 'user-model');
const aFile = join(root, 'a-file.txt');
const digest = (dir: string) => Object.fromEntries(readdirSync(dir).map((f) => [f, createHash('sha256').update(readFileSync(join(dir, f))).digest('hex')]));

beforeAll(async () => {
  const m = tfjs.sequential({ layers: [tfjs.layers.conv2d({ inputShape: [28, 28, 1], filters: 4, kernelSize: 3, activation: 'relu' }), tfjs.layers.globalAveragePooling2d({}), tfjs.layers.dense({ units: 10 })] });
  await saveLayersModel(m, modelDir);
  m.dispose();
  writeFileSync(aFile, 'not a directory');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const model = () => join(modelDir, 'model.json');
const cases: Array<[string, () => string[], RegExp]> = [
  ['ptq --out ""', () => ['ptq', '--method', 'rtn', '--out', ''], /--out is empty/],
  ['ptq --out /proc/x', () => ['ptq', '--method', 'rtn', '--out', '/proc/lowbit-x'], /--out \/proc\/lowbit-x: is under \/proc/],
  ['ptq --out an existing file', () => ['ptq', '--method', 'rtn', '--out', aFile], /a-file\.txt: is an existing file, not a directory/],
  ['ptq --out a path through a file', () => ['ptq', '--method', 'rtn', '--out', join(aFile, 'sub')], /cannot create it \(ENOTDIR\)/],
  ['ptq --out the input model folder', () => ['ptq', '--model', model(), '--method', 'rtn', '--test-limit', '50', '--out', modelDir], /is the folder of the input .*model\.json; writing there would replace its files.*--force/],
  ['export --out the input model folder', () => ['export', '--model', model(), '--out', modelDir], /is the folder of the input .*model\.json/],
  ['export --out /sys/x', () => ['export', '--model', 'resnet-fm', '--out', '/sys/lowbit-x'], /is under \/sys/],
  ['export --out an existing file', () => ['export', '--model', 'resnet-fm', '--out', aFile], /is an existing file/],
  ['train --out /proc/x', () => ['train', '--data', 'bundled', '--epochs', '1', '--out', '/proc/lowbit-x'], /is under \/proc/],
  ['mpq train --out an existing file', () => ['mpq', 'train', '--data', 'bundled', '--out', aFile], /a-file\.txt: is an existing file/],
  ['mpq train --out the input model folder', () => ['mpq', 'train', '--model', model(), '--data', 'bundled', '--out', modelDir], /is the folder of the input .*model\.json/],
  ['mpq search --out /sys/x', () => ['mpq', 'search', '--uniform', 'W4A4', '--out', '/sys/lowbit-x'], /is under \/sys/],
];

describe('--out is checked before any work', () => {
  it.each(cases)('%s: exit 2, one line, nothing written', (_name, args, message) => {
    const before = digest(modelDir);
    const rootBefore = readdirSync(root).sort();
    const r = lowbit(...args());
    expect(r.status).toBe(2);
    // (Node's own runtime warnings, such as NO_COLOR vs FORCE_COLOR in CI, are not lowbit's output)
    const lines = r.stderr.trim().split('\n').filter((l) => !/^\(node:\d+\) Warning: |^\(Use `node --trace-warnings/.test(l));
    expect(lines.length).toBe(1);
    expect(lines[0]).toMatch(/^lowbit: error: /);
    expect(lines[0]).toMatch(message);
    expect(digest(modelDir)).toEqual(before);
    expect(readdirSync(root).sort()).toEqual(rootBefore);
    expect(readFileSync(aFile, 'utf8')).toBe('not a directory');
  });

  it('--force allows the input folder (export of a float model into its own folder)', () => {
    const r = lowbit('export', '--model', model(), '--out', modelDir, '--force');
    expect(r.status, r.stderr).toBe(0);
    expect(readdirSync(modelDir)).toContain('report.json');
  });
});
