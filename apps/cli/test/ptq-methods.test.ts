import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runKey } from '../src/commands/ptq.js';
import { planMethod } from '@lowbit/pipelines';
import { lowbit } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'lowbit-ptqm-'));
const model = join(dir, 'm', 'model.json');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(() => {
  const t = lowbit('train', '--data', 'bundled', '--epochs', '3', '--batch', '32', '--lr', '0.05', '--no-eval', '--out', join(dir, 'm'), '--seed', '4');
  expect(t.status, t.stderr).toBe(0);
}, 300_000);

const run = (...args: string[]) => {
  const r = lowbit('ptq', '--model', model, '--calib-size', '256', '--test-limit', '2000', '--json', ...args);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
};

describe('lowbit ptq learned methods', () => {
  it('NWQ beats round-to-nearest at W3A3 and writes a quantized model that lowbit eval reproduces', () => {
    const rtn = run('--method', 'rtn', '--wbits', '3', '--abits', '3', '--out', join(dir, 'rtn'));
    const nwq = run('--method', 'nwq', '--wbits', '3', '--abits', '3', '--iters', '80', '--out', join(dir, 'nwq'));
    expect(nwq).toMatchObject({ method: 'nwq', rounding: 'asoftmax', mixing: 'amixup', reconstruction: { granularity: 'network', iterations: 80, regularize: 'blocks' } });
    expect(nwq.reconstructionSeconds).toBeGreaterThan(0);
    expect(nwq.quantizedAccuracy).toBeGreaterThan(rtn.quantizedAccuracy);
    const e = lowbit('eval', '--model', join(dir, 'nwq', 'model.json'), '--json');
    expect(e.status, e.stderr).toBe(0);
    const ej = JSON.parse(e.stdout);
    expect(ej.quantized).toBe(true);
    // eval uses all 10,000 test images; the report above the first 2,000: re-run ptq's figure on the full set
    const full = lowbit('ptq', '--model', model, '--calib-size', '256', '--json', '--method', 'nwq', '--wbits', '3', '--abits', '3', '--iters', '80', '--out', join(dir, 'nwq-full'));
    expect(full.status, full.stderr).toBe(0);
    expect(ej.accuracy).toBe(JSON.parse(full.stdout).quantizedAccuracy);
  }, 600_000);

  it('the baselines run as presets of the same engine; ablation flags swap single pieces', () => {
    const q = run('--method', 'qdrop', '--iters', '5', '--out', join(dir, 'qdrop'));
    expect(q).toMatchObject({ rounding: 'adaround', mixing: 'qdrop', reconstruction: { granularity: 'block', iterations: 5 } });
    const a = run('--method', 'adaround', '--iters', '5', '--out', join(dir, 'ada'));
    expect(a).toMatchObject({ rounding: 'adaround', mixing: 'none', reconstruction: { granularity: 'layer', activationLr: 0 } });
    const ab = run('--method', 'nwq', '--iters', '5', '--rounding', 'adaround', '--mixing', 'qdrop', '--ar', 'layers', '--out', join(dir, 'abl'));
    expect(ab).toMatchObject({ rounding: 'adaround', mixing: 'qdrop', reconstruction: { granularity: 'network', regularize: 'layers' } });
  }, 600_000);

  it('bad flags fail before any work; --resume without saved state is an error', () => {
    const bad = lowbit('ptq', '--model', model, '--method', 'nwq', '--mixing', 'shuffle');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--mixing must be one of none, qdrop, amixup, got 'shuffle'/);
    const rtnIters = lowbit('ptq', '--model', model, '--method', 'rtn', '--iters', '10');
    expect(rtnIters.status).toBe(2);
    expect(rtnIters.stderr).toMatch(/--method rtn runs no optimisation/);
    const noState = lowbit('ptq', '--model', model, '--method', 'nwq', '--out', join(dir, 'fresh'), '--resume');
    expect(noState.status).toBe(2);
    expect(noState.stderr).toMatch(/no saved reconstruction state/);
    // a truncated or empty state file: one line naming it, exit 2, no stack trace
    for (const [text, msg] of [
      ['{"key": {"model"', /ptq-state\.json' is not valid JSON .*; delete it to start over/],
      ['null', /ptq-state\.json' holds no reconstruction snapshot/],
    ] as const) {
      mkdirSync(join(dir, 'corrupt'), { recursive: true });
      writeFileSync(join(dir, 'corrupt', 'ptq-state.json'), text);
      const r = lowbit('ptq', '--model', model, '--method', 'nwq', '--out', join(dir, 'corrupt'), '--resume');
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  }, 300_000);
});

describe('ptq --resume key', () => {
  it('changes with --input-range and --channel-order when they are not the default; default keys keep their old shape', () => {
    const base = { model: 'resnet-fm', wbits: 4, abits: 4, calib: 'bundled', calibSize: 1024, keep8bit: 'first,last', granularity: 'channel', weightGrid: 'symmetric', estimator: 'mse', seed: 1, channelOrder: 'rgb', inputRange: '0,1' };
    const plan = planMethod('nwq', {});
    const k0 = runKey(base, plan);
    expect(Object.keys(k0)).not.toContain('inputRange');
    expect(Object.keys(k0)).not.toContain('channelOrder');
    expect(JSON.stringify(runKey({ ...base, inputRange: ' 0, 1' }, plan))).toBe(JSON.stringify(k0));
    expect(JSON.stringify(runKey({ ...base, inputRange: '-1,1' }, plan))).not.toBe(JSON.stringify(k0));
    expect(JSON.stringify(runKey({ ...base, channelOrder: 'bgr' }, plan))).not.toBe(JSON.stringify(k0));
    expect(JSON.stringify(runKey({ ...base, seed: 2 }, plan))).not.toBe(JSON.stringify(k0));
    expect(Object.keys(k0)).not.toContain('weightGrid');
    expect(JSON.stringify(runKey({ ...base, weightGrid: 'asymmetric' }, plan))).not.toBe(JSON.stringify(k0));
  });
});

describe('ptq plans', () => {
  it("AdaRound rounding always reconstructs with the channel-summed error its regulariser is calibrated on; NWQ's AR keeps per-example distances", () => {
    expect(planMethod('nwq', {}).config!.reduction).toBe('features');
    expect(planMethod('nwq', { rounding: 'adaround' }).config!.reduction).toBe('channels');
    for (const m of ['adaround', 'brecq', 'qdrop']) expect(planMethod(m, {}).config!.reduction).toBe('channels');
  });
});
