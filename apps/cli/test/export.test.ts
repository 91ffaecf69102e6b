import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lowbit } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'lowbit-export-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('lowbit export --target tfjs', () => {
  it('exports a per-tensor RTN model with uint8 kernels and says what it did', () => {
    const p = lowbit('ptq', '--method', 'rtn', '--granularity', 'tensor', '--calib-size', '256', '--test-limit', '200', '--out', join(dir, 'q'), '--json');
    expect(p.status, p.stderr).toBe(0);
    const e = lowbit('export', '--model', join(dir, 'q', 'model.json'), '--out', join(dir, 'tfjs'), '--json');
    expect(e.status, e.stderr).toBe(0);
    const r = JSON.parse(e.stdout);
    expect(r.quantized).toBe(true);
    expect(existsSync(join(dir, 'tfjs', 'model.json'))).toBe(true);
    const kernels = r.weights.filter((w: { name: string }) => w.name.endsWith('kernel'));
    expect(kernels.length).toBe(10);
    expect(kernels.every((w: { storedAs: string }) => w.storedAs === 'uint8')).toBe(true);
    expect(r.weightBytes).toBeLessThan(90_000);
    const pk = lowbit('export', '--model', join(dir, 'q', 'model.json'), '--target', 'lowbit-packed', '--out', join(dir, 'packed'), '--json');
    expect(pk.status, pk.stderr).toBe(0);
    const pr = JSON.parse(pk.stdout);
    expect(pr.weights.filter((w: { storedAs: string }) => w.storedAs === 'packed').length).toBe(10);
    expect(pr.weightBytes).toBeLessThan(r.weightBytes / 1.8);
  }, 300_000);

  it('rejects unknown targets, float models for packing, and bad options', () => {
    const a = lowbit('export', '--model', 'resnet-fm', '--target', 'lowbit-packed', '--out', join(dir, 'x'));
    expect(a.status).toBe(2);
    expect(a.stderr).toMatch(/--target lowbit-packed needs a quantized model/);
    const t = lowbit('export', '--model', 'resnet-fm', '--target', 'onnx', '--out', join(dir, 'x'));
    expect(t.status).toBe(2);
    expect(t.stderr).toMatch(/--target must be tfjs or lowbit-packed, got 'onnx'/);
    const b = lowbit('export', '--model', 'resnet-fm', '--per-channel', 'int4', '--out', join(dir, 'x'));
    expect(b.status).toBe(2);
    expect(b.stderr).toMatch(/--per-channel must be float32 or float16/);
    expect(existsSync(join(dir, 'x'))).toBe(false);
  });
});
