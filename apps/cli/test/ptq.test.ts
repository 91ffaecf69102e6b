import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasReference, referenceMetadata } from '@lowbit/models/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lowbit } from './helpers.js';

/** The quality bars apply to the final trained checkpoints, not to in-training ones. */
const isFinal = (n: 'resnet-fm' | 'mbv2-fm') => hasReference(n) && referenceMetadata(n)['status'] === 'final';

const dir = mkdtempSync(join(tmpdir(), 'lowbit-ptq-'));
const model = join(dir, 'm', 'model.json');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(() => {
  const t = lowbit('train', '--data', 'bundled', '--epochs', '3', '--batch', '32', '--lr', '0.05', '--no-eval', '--out', join(dir, 'm'), '--seed', '3');
  expect(t.status, t.stderr).toBe(0);
}, 300_000);

describe('lowbit ptq --method rtn', () => {
  it('prints a JSON report; 8 bits stay close to float, 2 bits do not; writes report.json', () => {
    const r8 = lowbit('ptq', '--model', model, '--method', 'rtn', '--wbits', '8', '--abits', '8', '--calib-size', '256', '--json', '--out', join(dir, 'out8'));
    expect(r8.status, r8.stderr).toBe(0);
    const j8 = JSON.parse(r8.stdout);
    expect(j8).toMatchObject({ method: 'rtn', wBits: 8, aBits: 8, calibImages: 256, testImages: 10_000 });
    for (const k of ['fp32Accuracy', 'quantizedAccuracy']) {
      expect(j8[k]).toBeGreaterThan(0.2); // 10 classes: well above chance after 3 short epochs
      expect(j8[k]).toBeLessThanOrEqual(1);
    }
    expect(Math.abs(j8.fp32Accuracy - j8.quantizedAccuracy)).toBeLessThan(0.02);
    expect(j8.seconds).toBeGreaterThan(0);
    expect(j8.size.quantizedBytes).toBeLessThan(j8.size.fp32Bytes / 3);
    expect(JSON.parse(readFileSync(join(dir, 'out8', 'report.json'), 'utf8')).quantizedAccuracy).toBe(j8.quantizedAccuracy);
    const r2 = lowbit('ptq', '--model', model, '--method', 'rtn', '--wbits', '2', '--abits', '2', '--calib-size', '256', '--json');
    expect(r2.status, r2.stderr).toBe(0);
    const j2 = JSON.parse(r2.stdout);
    expect(j2.quantizedAccuracy).toBeLessThan(j8.quantizedAccuracy);
    expect(j2.bitOps.quantized).toBeLessThan(j8.bitOps.quantized);
  }, 300_000);

  it('rejects bad settings clearly', () => {
    const a = lowbit('ptq', '--model', model, '--wbits', '9');
    expect(a.status).toBe(2);
    expect(a.stderr).toMatch(/--wbits: bits must be an integer from 2 to 8, got 9/);
    const b = lowbit('ptq', '--model', model, '--method', 'magic');
    expect(b.status).toBe(2);
    expect(b.stderr).toMatch(/--method must be one of/);
    const c = lowbit('ptq', '--model', model, '--keep-8bit', 'middle');
    expect(c.status).toBe(2);
    expect(c.stderr).toMatch(/--keep-8bit takes/);
    const d = lowbit('ptq', '--model', model, '--calib', join(dir, 'nothing'));
    expect(d.status).toBe(2);
    expect(d.stderr).toMatch(/--calib '.*nothing' does not exist/);
  }, 300_000);

  it.skipIf(!isFinal('resnet-fm'))('RTN W8A8 on the bundled resnet-fm is within 0.3 pt of FP32', () => {
    const r = lowbit('ptq', '--method', 'rtn', '--wbits', '8', '--abits', '8', '--json');
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.fp32Accuracy - j.quantizedAccuracy).toBeLessThanOrEqual(0.003);
  }, 300_000);

  it.skipIf(!isFinal('mbv2-fm'))('RTN W8A8 on the bundled mbv2-fm is within 0.3 pt of FP32', () => {
    const r = lowbit('ptq', '--model', 'mbv2-fm', '--method', 'rtn', '--wbits', '8', '--abits', '8', '--json');
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.fp32Accuracy - j.quantizedAccuracy).toBeLessThanOrEqual(0.003);
  }, 300_000);
});
