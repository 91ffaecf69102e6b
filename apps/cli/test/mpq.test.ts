import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '@lowbit/core';
import { bundledTestSet, setFingerprint } from '@lowbit/data';
import { CHECKPOINTS_DIR } from '@lowbit/models/node';
import { saveOneShot } from '@lowbit/pipelines/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oneShot } from '../../../packages/pipelines/test/one-shot-fixtures.js';
import { lowbit } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'lowbit-mpq-'));
beforeAll(() => initBackend({ backend: 'wasm', fallback: false }));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const bundledOneShot = existsSync(join(CHECKPOINTS_DIR, 'resnet-fm-oneshot', 'oneshot.json'));

describe('lowbit mpq (CLI)', () => {
  it.skipIf(!bundledOneShot)('mpq search --avg-bits 3 runs on the bundled resnet-fm one-shot checkpoint: within budget, better held-out error than uniform', () => {
    const out = join(dir, 'bundled-search');
    const r = lowbit('mpq', 'search', '--avg-bits', '3', '--bn-images', '64', '--score-images', '128', '--no-plot', '--test-limit', '1000', '--out', out, '--json');
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    // the bundled checkpoint was trained on every Fashion-MNIST training image, the calibration ones too: said once, on stderr
    expect(r.stderr).toMatch(/note: the one-shot network was trained on 1024 of the calibration images this search scores and validates on .*--hold-out 1024/);
    expect(j.cost).toBeLessThanOrEqual(j.uniformCost);
    expect(j.accuracy).toBeGreaterThan(0.8);
    expect(j.uniformAccuracy).toBeGreaterThan(0.5);
    expect(j.evaluations).toBeGreaterThan(10);
    expect(Object.keys(j.policy)).toHaveLength(10);
    // the final pick between the end point and the uniform policy is made on 512 unused calibration images
    expect(j.validation.images).toBe(512);
    expect(j.chosen === 'search').toBe(j.validation.searchError <= j.validation.uniformError);
    // the training report's FP32 figure is on all 10,000 test images, this search's on 1,000: not copied
    expect(j.testImages).toBe(1000);
    expect(j.fp32Accuracy).toBeNull();
    // the max-bit sub-network is measured on this search's test images
    expect(j.maxBitsAccuracy).toBeGreaterThan(0.85);
    expect(Math.abs(j.maxBitsAccuracy * 1000 - Math.round(j.maxBitsAccuracy * 1000))).toBeLessThan(1e-6);
  }, 900_000);

  it.skipIf(!bundledOneShot)('mpq search --resample: the plot follows the search path (errors of different rounds do not compare), from the start to the end point', () => {
    const out = join(dir, 'resample-plot');
    const r = lowbit('mpq', 'search', '--avg-bits', '5', '--no-fill', '--criterion', 'error', '--resample', '--score-images', '64', '--validate-images', '0', '--plot-test-limit', '50', '--test-limit', '100', '--out', out, '--json');
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    const path = (j.pareto as Array<{ kind: string; cost: number }>).filter((p) => p.kind === 'search path (mixed)');
    expect(path.length).toBe(Math.min(12, j.trace.length + 1));
    // the first point is the all-highest start, the last the search's end point
    expect(path[0]!.cost).toBe(Math.max(...(j.pareto as Array<{ cost: number }>).map((p) => p.cost)));
    expect(path[path.length - 1]!.cost).toBe(j.trace[j.trace.length - 1].cost);
    expect(existsSync(join(out, 'pareto.svg'))).toBe(true);
  }, 600_000);

  it('mpq search on a one-shot directory: policy.json, plot files, --json report fields; eval --policy reproduces the accuracy', async () => {
    const o = oneShot();
    const p = join(dir, 'cli-oneshot');
    // an FP32 figure measured on the same test images as the search (all 10,000): copied into policy.json
    await saveOneShot(o, p, { fp32Accuracy: 0.1, testSet: { name: 'fashion-mnist/test', images: 10000, fingerprint: setFingerprint(bundledTestSet()) } });
    o.dispose();
    const out = join(dir, 'cli-search');
    const r = lowbit('mpq', 'search', '--model', p, '--avg-bits', '3', '--calib-size', '512', '--bn-images', '64', '--score-images', '64', '--validate-images', '256', '--plot-test-limit', '100', '--out', out, '--json');
    expect(r.status, r.stderr).toBe(0);
    // a one-shot network without a training record: nothing to say about its training images
    expect(r.stderr).not.toMatch(/note: the one-shot network was trained on/);
    const j = JSON.parse(r.stdout);
    expect(j.finalBnImages).toBe(512);
    expect(j.calib).toBe('bundled');
    expect(j.fp32Accuracy).toBe(0.1);
    for (const k of ['accuracy', 'uniformAccuracy', 'cost', 'uniformCost', 'policy']) expect(j).toHaveProperty(k);
    expect(j.cost).toBeLessThanOrEqual(j.uniformCost);
    expect(j.accuracy).toBeGreaterThanOrEqual(0);
    expect(existsSync(join(out, 'policy.json'))).toBe(true);
    expect(readFileSync(join(out, 'pareto.svg'), 'utf8')).toContain('<svg');
    expect(readFileSync(join(out, 'pareto.png')).subarray(1, 4).toString()).toBe('PNG');
    const e = lowbit('eval', '--policy', join(out, 'policy.json'), '--json');
    expect(e.status, e.stderr).toBe(0);
    const ej = JSON.parse(e.stdout);
    expect(ej.samples).toBe(10000);
    // same weights, same 512 BN images (from policy.json), same 10,000 test images: the same accuracy
    expect(ej.accuracy).toBeCloseTo(j.accuracy, 10);
    // the searched policy ships: export it (packed), and lowbit eval reads the export back
    const x = lowbit('export', '--policy', join(out, 'policy.json'), '--target', 'lowbit-packed', '--out', join(out, 'packed'), '--json');
    expect(x.status, x.stderr).toBe(0);
    const xj = JSON.parse(x.stdout);
    expect(xj.format).toBe('lowbit-packed');
    expect(xj.policy).toBe(join(out, 'policy.json'));
    // the search states what its export computes (float activations), and the export's report carries it
    expect(typeof j.exportAccuracy).toBe('number');
    expect(xj.exportAccuracy).toBe(j.exportAccuracy);
    const xr = JSON.parse(readFileSync(join(out, 'packed', 'report.json'), 'utf8'));
    expect(xr.accuracy).toMatchObject({ measuredBy: 'lowbit mpq search', wBits: 'mixed', quantized: j.accuracy, exported: j.exportAccuracy, testImages: 10000 });
    const layers = JSON.parse(readFileSync(join(out, 'packed', 'model.json'), 'utf8')).lowbitPacked.layers as Record<string, { bits?: number }>;
    const bits = Object.values(layers).map((l) => l.bits).filter((b) => b !== undefined).sort();
    expect(bits).toEqual(Object.values(j.policy as Record<string, { w: number }>).map((b) => b.w).sort());
    const xe = lowbit('eval', '--model', join(out, 'packed', 'model.json'), '--json');
    expect(xe.status, xe.stderr).toBe(0);
    const xej = JSON.parse(xe.stdout);
    expect(xej.samples).toBe(10000);
    // the shipped model scores what the search said it would (float rounding may move one image of 10,000)
    expect(Math.abs(xej.accuracy - j.exportAccuracy)).toBeLessThanOrEqual(1e-4);
    const bad = lowbit('mpq', 'search', '--model', p, '--avg-bits', '3', '--size', '10');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/exactly one budget/);
    const badCalib = lowbit('mpq', 'search', '--model', p, '--avg-bits', '3', '--calib', join(dir, 'no-such-dir'));
    expect(badCalib.status).toBe(2);
    expect(badCalib.stderr).toMatch(/--calib must be 'bundled' or a Fashion-MNIST directory/);
    const tooMany = lowbit('mpq', 'search', '--model', p, '--avg-bits', '3', '--calib-size', '5000');
    expect(tooMany.status).toBe(2);
    expect(tooMany.stderr).toMatch(/--calib-size 5000 is larger than the 1024 images/);
  });
});
