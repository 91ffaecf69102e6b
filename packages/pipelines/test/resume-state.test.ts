import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readPtqState, writePtqState } from '../src/node/index.js';

const dir = mkdtempSync(join(tmpdir(), 'lowbit-ptq-state-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ptq resume state', () => {
  it('a state written by other settings names the first setting that differs, with both values', () => {
    const path = join(dir, 'ptq-state.json');
    const key = { model: 'resnet-fm', wbits: 4, calibSize: 64, plan: { method: 'nwq', iterations: 400 } };
    writePtqState(path, key, { unitIndex: 0 } as never);
    expect(() => readPtqState(path, { ...key, calibSize: 65 })).toThrow(/was written by a run with other settings \(calibSize is 65 here, 64 in the state file\); use the same command/);
    expect(() => readPtqState(path, { ...key, plan: { method: 'nwq', iterations: 2 } })).toThrow(/\(plan\.iterations is 2 here, 400 in the state file\)/);
    expect(() => readPtqState(path, { ...key, fit: 'crop' })).toThrow(/\(fit is "crop" here, not set in the state file\)/);
  });
});
