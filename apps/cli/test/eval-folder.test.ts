import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundledTestSet } from '@lowbit/data';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lowbit } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'lowbit-eval-folder-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// the first 100 bundled test images as PNG files: by class (labelled) and flat (unlabelled)
beforeAll(() => {
  const set = bundledTestSet();
  for (let i = 0; i < 100; i++) {
    const p = new PNG({ width: 28, height: 28 });
    for (let j = 0; j < 784; j++) {
      const v = set.images[i * 784 + j]!;
      p.data.set([v, v, v, 255], 4 * j);
    }
    const png = PNG.sync.write(p);
    const cls = join(dir, 'labelled', String(set.labels[i]));
    mkdirSync(cls, { recursive: true });
    writeFileSync(join(cls, `${String(i).padStart(3, '0')}.png`), png);
    mkdirSync(join(dir, 'flat'), { recursive: true });
    writeFileSync(join(dir, 'flat', `${String(i).padStart(3, '0')}.png`), png);
  }
});

describe('lowbit eval --data <folder>', () => {
  it('class sub-folders give the accuracy of the same images from the test set', () => {
    const f = lowbit('eval', '--model', 'resnet-fm', '--data', join(dir, 'labelled'), '--json');
    expect(f.status, f.stderr).toBe(0);
    const fj = JSON.parse(f.stdout);
    const b = JSON.parse(lowbit('eval', '--model', 'resnet-fm', '--test-limit', '100', '--json').stdout);
    expect(fj).toMatchObject({ labelled: true, samples: 100, activations: 'float' });
    expect(fj.accuracy).toBe(b.accuracy);
    expect(fj.accuracy).toBeGreaterThan(0.8);
  }, 120_000);

  it('a flat folder gives agreement of a ptq output with the float model it came from, or with --reference', () => {
    const p = lowbit('ptq', '--method', 'rtn', '--wbits', '3', '--abits', '3', '--calib-size', '128', '--test-limit', '100', '--out', join(dir, 'q'), '--json');
    expect(p.status, p.stderr).toBe(0);
    const e = lowbit('eval', '--model', join(dir, 'q', 'model.json'), '--data', join(dir, 'flat'), '--json');
    expect(e.status, e.stderr).toBe(0);
    const ej = JSON.parse(e.stdout);
    expect(ej).toMatchObject({ labelled: false, reference: 'resnet-fm', samples: 100, activations: 'quantized' });
    expect(ej.accuracy).toBeUndefined();
    expect(ej.agreement.top1).toBeGreaterThan(0.5);
    expect(ej.agreement.top1).toBeLessThan(1); // W3A3 RTN changes some predictions
    expect(ej.agreement.top5).toBeGreaterThanOrEqual(ej.agreement.top1);
    expect(ej.agreement.kl).toBeGreaterThan(0);
    // against itself: identical
    const self = JSON.parse(lowbit('eval', '--model', 'resnet-fm', '--data', join(dir, 'flat'), '--reference', 'resnet-fm', '--json').stdout);
    expect(self.agreement).toEqual({ top1: 1, top5: 1, kl: expect.any(Number) });
    expect(Math.abs(self.agreement.kl)).toBeLessThan(1e-6);
    const text = lowbit('eval', '--model', join(dir, 'q', 'model.json'), '--data', join(dir, 'flat'));
    expect(text.stdout).toMatch(/agreement {4}top-1 \d+\.\d\d%, top-5 \d+\.\d\d%, KL \S+ against resnet-fm/);
    // a 1-channel model reads the images as grayscale: the data line says so (no channel order applies)
    expect(text.stdout).toMatch(/^data {9}.*: 100 images, unlabelled, resized to 28×28×1, input range 0,1, grayscale$/m);
  }, 300_000);

  it('ptq reports agreement on images it never saw: the --calib images after --calib-size, or --heldout; says when there are none', () => {
    const rest = JSON.parse(lowbit('ptq', '--method', 'rtn', '--wbits', '3', '--abits', '3', '--calib', join(dir, 'flat'), '--calib-size', '60', '--test-limit', '50', '--out', join(dir, 'h1'), '--json').stdout);
    expect(rest).toMatchObject({ calibImages: 60, heldOutImages: 40 });
    expect(rest.heldOut).toMatch(/\[60\.\.99\]$/);
    expect(rest.heldOutAgreement).toBeGreaterThan(0.3);
    expect(rest.heldOutAgreement).toBeLessThanOrEqual(1);
    // the calibration images themselves as --heldout are refused: they are not held out
    const same = lowbit('ptq', '--method', 'rtn', '--wbits', '3', '--abits', '3', '--calib', join(dir, 'flat'), '--heldout', join(dir, 'flat'), '--test-limit', '50', '--out', join(dir, 'h2'), '--json');
    expect(same.status).toBe(2);
    expect(same.stderr).toMatch(/--heldout .* is the --calib set: its images include the calibration ones.*\[E_ARG\]/);
    // all of --calib used (the default count: all, at most 1,024): nothing held back, and the text says so
    const none = lowbit('ptq', '--method', 'rtn', '--wbits', '3', '--abits', '3', '--calib', join(dir, 'flat'), '--test-limit', '50', '--out', join(dir, 'h3'));
    expect(none.status, none.stderr).toBe(0);
    expect(none.stdout).toMatch(/held out {7}not measured: give --heldout <images>/);
    const bad = lowbit('ptq', '--method', 'rtn', '--calib', join(dir, 'flat'), '--heldout', join(dir, 'nope'), '--out', join(dir, 'h4'));
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/does not exist/);
    expect(existsSync(join(dir, 'h4'))).toBe(false);
  }, 300_000);

  it('refuses unlabelled images without a reference, --reference on the test set, and a missing folder (exit 2)', () => {
    const a = lowbit('eval', '--model', 'resnet-fm', '--data', join(dir, 'flat'));
    expect(a.status).toBe(2);
    expect(a.stderr).toMatch(/has no class sub-folders \(unlabelled\): give --reference <model>/);
    const b = lowbit('eval', '--model', 'resnet-fm', '--reference', 'mbv2-fm');
    expect(b.status).toBe(2);
    expect(b.stderr).toMatch(/--reference compares predictions on an image folder/);
    const c = lowbit('eval', '--model', 'resnet-fm', '--data', join(dir, 'nope'));
    expect(c.status).toBe(2);
    expect(c.stderr).toMatch(/--data '.*nope' is neither 'bundled', a Fashion-MNIST directory nor a folder of images/);
    // more class sub-folders than the model has outputs: the image and its class are named
    const eleven = join(dir, 'eleven');
    for (let k = 0; k < 11; k++) mkdirSync(join(eleven, `c${String(k).padStart(2, '0')}`), { recursive: true });
    for (let k = 0; k < 11; k++) writeFileSync(join(eleven, `c${String(k).padStart(2, '0')}`, 'x.png'), readFileSync(join(dir, 'flat', '000.png')));
    const d = lowbit('eval', '--model', 'resnet-fm', '--data', eleven);
    expect(d.status).toBe(2);
    expect(d.stderr).toMatch(/evaluate: image 10 of .*eleven.* has label 10 \(class 'c10'\), but the model has 10 outputs: the labels must be the model's classes/);
  }, 120_000);
});
