import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tfjs from '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, type LowbitError, Rng } from '@lowbit/core';
import { bundledCalibrationSet, makeBatch } from '@lowbit/data';
import { loadReference } from '@lowbit/models/node';
import { disposeNetwork, forward } from '@lowbit/nn';
import { exportPacked, packedHandler } from '@lowbit/tfjs-io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluate, quantize, type QuantizedModel, runNotes } from '../src/index.js';

// a user's own model, built with stock tfjs (not a lowbit checkpoint)
function userModel(): tfjs.LayersModel {
  return tfjs.sequential({
    layers: [
      tfjs.layers.conv2d({ inputShape: [12, 12, 1], filters: 6, kernelSize: 3, activation: 'relu', kernelInitializer: tfjs.initializers.glorotUniform({ seed: 1 }) }),
      tfjs.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, activation: 'relu', kernelInitializer: tfjs.initializers.glorotUniform({ seed: 2 }) }),
      tfjs.layers.globalAveragePooling2d({}),
      tfjs.layers.dense({ units: 5, kernelInitializer: tfjs.initializers.glorotUniform({ seed: 3 }) }),
    ],
  });
}

const maxAbs = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
const argmaxEq = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.all(tf.equal(tf.argMax(a, 1), tf.argMax(b, 1))).dataSync()[0]!);

describe('quantize(model, config)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lowbit-quantize-'));
  let model: tfjs.LayersModel;
  let calibration: tf.Tensor;
  let x: tf.Tensor;
  let q: QuantizedModel;
  beforeAll(async () => {
    await initBackend({ backend: 'wasm', fallback: false });
    model = userModel();
    calibration = new Rng(4).uniform([48, 12, 12, 1]);
    x = new Rng(5).uniform([16, 12, 12, 1]);
    const progress: number[] = [];
    const r = await quantize(model, { method: 'nwq', wBits: 4, aBits: 4, calibration, iterations: 20, batchSize: 8, onProgress: (p) => progress.push(p.step) });
    q = r.model;
    expect(r.report.calibImages).toBe(48);
    expect(r.report.iterations).toBe(20);
    expect(progress.at(-1)).toBe(20);
    expect(r.report.calibrationAgreement).toBeGreaterThan(0.5);
  }, 120_000);
  afterAll(() => {
    q.dispose();
    tf.dispose([calibration, x]);
    model.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a stock save loaded by stock tfjs predicts what the weight-only model predicts', async () => {
    let artifacts: tf.io.ModelArtifacts | null = null;
    await q.save(
      tf.io.withSaveHandler(async (a) => {
        artifacts = a;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    const loaded = await tfjs.loadLayersModel(tfjs.io.fromMemory(artifacts!));
    const stock = loaded.predict(x) as tf.Tensor;
    const ours = q.predict(x, { activations: 'float' });
    expect(maxAbs(stock, ours)).toBeLessThan(1e-4);
    expect(argmaxEq(stock, ours)).toBe(1);
    tf.dispose([stock, ours]);
    loaded.dispose();
  });

  it('a lowbit-packed save loaded through packedHandler predicts the same; a directory save writes all files', async () => {
    const out = join(dir, 'packed');
    const r = await q.save(out, { target: 'lowbit-packed' });
    expect(r.format).toBe('lowbit-packed');
    expect(readdirSync(out).sort()).toEqual(['model.json', 'weights.lbp']);
    const loaded = await tfjs.loadLayersModel(packedHandler(join(out, 'model.json')));
    const stock = loaded.predict(x) as tf.Tensor;
    const ours = q.predict(x, { activations: 'float' });
    expect(maxAbs(stock, ours)).toBeLessThan(1e-4);
    tf.dispose([stock, ours]);
    loaded.dispose();
  });

  it('evaluate() measures agreement with the float model on unlabelled images', async () => {
    const e = await evaluate(q, x, { reference: model });
    expect(e.samples).toBe(16);
    expect(e.agreement!.top1).toBeGreaterThan(0.4);
    expect(e.agreement!.top5).toBeGreaterThanOrEqual(e.agreement!.top1);
    expect(e.agreement!.kl).toBeGreaterThanOrEqual(0);
    // per batch: progress, and an abort from the event loop gets through between batches without leaking
    // (setImmediate, not setTimeout: a 1 ms timer may or may not be due after the next batch on a loaded machine)
    const done: number[] = [];
    const small = (await evaluate(q, x, { reference: model, batchSize: 4, onProgress: (n) => done.push(n) })).agreement!;
    expect([small.top1, small.top5]).toEqual([e.agreement!.top1, e.agreement!.top5]);
    expect(small.kl).toBeCloseTo(e.agreement!.kl, 5);
    expect(done).toEqual([4, 8, 12, 16]);
    const controller = new AbortController();
    const before = tf.memory().numTensors;
    const run = evaluate(q, x, { reference: model, batchSize: 4, signal: controller.signal, onProgress: (n) => n === 8 && setImmediate(() => controller.abort()) });
    await expect(run).rejects.toMatchObject({ code: 'E_ABORTED', message: 'evaluate: stopped on request after 8 images' });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('the exporter refuses float weights with grids instead of writing wrapped codes', () => {
    const grids = Object.fromEntries(Object.entries(q.quantization.layers).map(([k, g]) => [k, { ...g, scale: g.scale.map((s) => s / 3.3) }]));
    expect(() => exportPacked(q.network, { grids })).toThrow(/E_GRID|not on its grid|outside the/);
    try {
      exportPacked(q.network, { grids: { nope: { bits: 4, axis: null, scale: [1] } } });
      expect.unreachable();
    } catch (e) {
      expect((e as LowbitError).code).toBe('E_GRID');
      expect((e as Error).message).toMatch(/nope/);
    }
  });

  it('bias correction (on by default) moves only biases, and reports what it did; off gives null', async () => {
    const on = await quantize(model, { method: 'rtn', wBits: 3, aBits: 8, calibration });
    const off = await quantize(model, { method: 'rtn', wBits: 3, aBits: 8, calibration, biasCorrection: false });
    expect(off.report.biasCorrection).toBeNull();
    expect(on.report.biasCorrection).toMatchObject({ skipped: [], images: 48 });
    expect(on.report.biasCorrection!.layers).toHaveLength(3);
    expect(on.report.biasCorrection!.maxRelativeShift).toBeGreaterThan(0);
    for (const [name, p] of Object.entries(on.model.network.params)) {
      const o = off.model.network.params[name]!;
      expect(Array.from(p['kernel']?.dataSync() ?? []), name).toEqual(Array.from(o['kernel']?.dataSync() ?? []));
    }
    const moved = Object.keys(on.model.network.params).filter((n) => maxAbs(on.model.network.params[n]!['bias']!, off.model.network.params[n]!['bias']!) > 0);
    expect(moved.length).toBe(3);
    on.model.dispose();
    off.model.dispose();
  });

  it('with heldOut, progress reports the agreement so far; the last equals the report (no bias correction after)', async () => {
    const held = new Rng(9).uniform([24, 12, 12, 1]);
    const seen: Array<{ step: number; agreement?: number }> = [];
    const r = await quantize(model, { method: 'nwq', wBits: 2, aBits: 4, calibration, heldOut: held, iterations: 20, batchSize: 8, biasCorrection: false, agreementEvery: 10, onProgress: (p) => seen.push({ step: p.step, ...(p.heldOutAgreement !== undefined ? { agreement: p.heldOutAgreement } : {}) }) });
    expect(seen.filter((p) => p.agreement !== undefined).map((p) => p.step)).toEqual([10, 20]);
    expect(seen.at(-1)!.agreement).toBe(r.report.heldOutAgreement);
    for (const p of seen) if (p.agreement !== undefined) expect(p.agreement * 24).toBeCloseTo(Math.round(p.agreement * 24), 9);
    r.model.dispose();
    tf.dispose(held);
    await expect(quantize(model, { method: 'nwq', calibration, heldOut: calibration, iterations: 5, agreementEvery: -1 })).rejects.toThrow(/agreementEvery must be an integer ≥ 0, got -1/);
  });

  it('a reconstruction that diverges is reported: agreement with the original float model fell from its start, and a warning line', async () => {
    // a real classifier on real images (the tiny model above gives every random input the same class)
    const net = loadReference('resnet-fm');
    const images = makeBatch(bundledCalibrationSet(), Int32Array.from({ length: 128 }, (_, i) => i)).x;
    const r = await quantize(net, { method: 'nwq', wBits: 4, aBits: 4, calibration: images, iterations: 20, batchSize: 16, weightLr: 1e9, activationLr: 1 });
    expect(r.report.startAgreement).not.toBeNull();
    expect(r.report.diverged).toBe(true);
    expect(r.report.startAgreement! - r.report.calibrationAgreement).toBeGreaterThan(0.02);
    expect(runNotes(r.report).find((l) => l.startsWith('warning'))).toMatch(/reconstruction diverged: top-1 agreement with the float model on the calibration images fell from .*% at the start to .*%; lower config\.weightLr/);
    // the agreement is against the original model, not the quantized network's own (bias-corrected) parameters
    const floatTop = tf.tidy(() => Array.from(tf.argMax(forward(net, images).output, 1).dataSync()));
    const quantTop = tf.tidy(() => Array.from(tf.argMax(r.model.predict(images, { activations: 'quantized' }), 1).dataSync()));
    const same = floatTop.filter((c, i) => c === quantTop[i]).length / floatTop.length;
    expect(r.report.calibrationAgreement).toBeCloseTo(same, 9);
    r.model.dispose();
    const sane = await quantize(net, { method: 'nwq', wBits: 4, aBits: 4, calibration: images, iterations: 20, batchSize: 16 });
    expect(sane.report.diverged).toBe(false);
    expect(sane.report.calibrationAgreement).toBeGreaterThan(0.9);
    sane.model.dispose();
    disposeNetwork(net);
    images.dispose();
  }, 120_000);

  it('bad configs are clear errors naming the field, before any work', async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ method: 'gptq' }, /config\.method must be one of/],
      [{ wBits: 1 }, /config\.wBits/],
      [{ granularity: 'row' }, /config\.granularity/],
      [{ method: 'rtn', iterations: 10 }, /method 'rtn' runs no optimisation/],
      [{ threads: 0 }, /config\.threads/],
      [{ layers: { nope: { w: 4, a: 4 } } }, /lacks: nope/],
      [{ layers: { conv2d_1: { w: 9, a: 4 } } }, /field 'w' must be an integer 2\.\.8/],
      [{ biasCorrection: 'yes' }, /config\.biasCorrection must be true or false, got "yes"/],
      [{ method: 'rtn', arWeighting: 'relative' }, /method 'rtn' runs no optimisation/],
      [{ arWeighting: 'mean' }, /config\.arWeighting must be one of sum, relative, got 'mean'/],
      [{ method: 'rtn', batchSize: 8, targets: 'per-batch' }, /method 'rtn' runs no optimisation; config\.iterations, config\.batchSize, config\.targets do not apply/],
      [{ method: 'adaround', regularize: 'blocks' }, /config\.regularize applies to network-wise reconstruction \(nwq, or config\.reconstruction network\); method 'adaround' reconstructs layer by layer/],
      // an option that does not exist is a typo, not something to ignore
      [{ lrWeights: 1e9 }, /config\.lrWeights is not an option \(did you mean config\.weightLr\?\)/],
      [{ wbits: 2 }, /config\.wbits is not an option \(did you mean config\.wBits\?\)/],
      [{ calibrationImages: 64 }, /config\.calibrationImages is not an option; the options are method, wBits/],
    ];
    for (const [c, re] of cases) await expect(quantize(model, { calibration, iterations: 1, ...c })).rejects.toThrow(re);
    await expect(quantize(model, {} as never)).rejects.toThrow(/config\.calibration is required/);
    await expect(quantize(model, { calibration: tf.zeros([4, 8, 8, 1]) })).rejects.toThrow(/shape \[4, 8, 8, 1\], the model takes \[N, 12, 12, 1\]/);
  });

  it('an AbortSignal stops it after the current step with E_ABORTED, and the state reaches checkpoint.save', async () => {
    const controller = new AbortController();
    let saved = 0;
    const run = quantize(model, {
      calibration,
      iterations: 100_000,
      batchSize: 8,
      signal: controller.signal,
      checkpoint: { save: () => saved++ },
      onProgress: (p) => {
        if (p.step >= 10) setTimeout(() => controller.abort(), 0);
      },
    });
    await expect(run).rejects.toMatchObject({ code: 'E_ABORTED' });
    expect(saved).toBeGreaterThan(0);
  }, 120_000);

  it('phases are announced in order; an abort in a phase without steps (bias correction, an event firing meanwhile) stops it there with E_ABORTED, leaking nothing', async () => {
    const phases: string[] = [];
    (await quantize(model, { method: 'nwq', calibration, iterations: 2, batchSize: 8, onPhase: (p) => phases.push(p) })).model.dispose();
    expect(phases).toEqual(['prepare', 'reconstruct', 'bias-correction', 'measure']);
    const rtn: string[] = [];
    (await quantize(model, { method: 'rtn', calibration, biasCorrection: false, onPhase: (p) => rtn.push(p) })).model.dispose();
    expect(rtn).toEqual(['prepare', 'measure']);
    // an event queued as bias correction starts runs between its layers (the run lets the event loop turn) and stops the run
    const before = tf.memory().numTensors;
    const controller = new AbortController();
    const seen: string[] = [];
    const run = quantize(model, {
      method: 'rtn',
      calibration,
      signal: controller.signal,
      onPhase: (p) => {
        seen.push(p);
        if (p === 'bias-correction') setImmediate(() => controller.abort());
      },
    });
    await expect(run).rejects.toMatchObject({ code: 'E_ABORTED', message: expect.stringMatching(/^bias correction: stopped on request/) });
    expect(seen).toEqual(['prepare', 'bias-correction']);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('leaks no tensors: a whole quantize + dispose returns to the same count', { timeout: 120_000 }, async () => {
    // first calls set up kernels and cached constants once; then every run must give back all it made
    const run = (method: 'rtn' | 'nwq') => quantize(model, method === 'rtn' ? { method, calibration } : { method, calibration, iterations: 3, batchSize: 8 });
    for (const method of ['rtn', 'nwq'] as const) (await run(method)).model.dispose();
    for (const method of ['rtn', 'nwq', 'rtn'] as const) {
      const before = tf.memory().numTensors;
      const r = await run(method);
      r.model.dispose();
      expect(tf.memory().numTensors, method).toBe(before);
    }
  });
});
