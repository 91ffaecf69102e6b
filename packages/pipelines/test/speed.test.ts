import * as tfjs from '@tensorflow/tfjs';
import { initBackend, Rng } from '@lowbit/core';
import { loadReference } from '@lowbit/models/node';
import { disposeNetwork, totalMacs } from '@lowbit/nn';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_WORK_MACS, measureConvGflops, MIN_SCALED_ITERATIONS, quantize, scaledIterations, speedReport } from '../src/index.js';

beforeAll(() => initBackend({ backend: 'wasm', fallback: false }));

describe('iterations scaled to the model', () => {
  it("keeps the preset's 1,000 on lowbit's own 28×28 networks", () => {
    for (const name of ['resnet-fm', 'mbv2-fm']) {
      const net = loadReference(name);
      const s = scaledIterations(1000, 32, totalMacs(net));
      expect(s, name).toEqual({ preset: 1000, iterations: 1000, scaled: false, macsPerImage: totalMacs(net) });
      disposeNetwork(net);
    }
  });

  it('scales a 224×224 MobileNetV2 (300 M MACs) to 200 at batch 32, in steps of 10, never below the minimum', () => {
    expect(scaledIterations(1000, 32, 299.86e6)).toEqual({ preset: 1000, iterations: 200, scaled: true, macsPerImage: 299.86e6 });
    // the work stays within the budget up to the rounding to 10
    const s = scaledIterations(1000, 16, 1.2e9);
    expect(s.iterations % 10).toBe(0);
    expect(Math.abs(s.iterations * 16 * 1.2e9 - DEFAULT_WORK_MACS)).toBeLessThanOrEqual(5 * 16 * 1.2e9);
    expect(scaledIterations(1000, 32, 1e12).iterations).toBe(MIN_SCALED_ITERATIONS);
    // a preset below the minimum is never raised
    expect(scaledIterations(20, 32, 1e12)).toMatchObject({ iterations: 20, scaled: false });
  });
});

describe('speed against the FLOP floor', () => {
  it('measures a positive convolution throughput and relates time to it', () => {
    const g = measureConvGflops(2);
    expect(g).toBeGreaterThan(0.5);
    expect(g).toBeLessThan(1000);
    const r = speedReport(60, 10, 32, 300e6, 2, 25);
    expect(r.secondsPerIteration).toBe(6);
    expect(r.flopsPerIteration).toBe(6 * 300e6 * 32);
    expect(r.floorSecondsPerIteration).toBeCloseTo((6 * 300e6 * 32) / 50e9, 10);
    expect(r.overFloor).toBeCloseTo(6 / r.floorSecondsPerIteration, 10);
  });

  it('quantize() reports the schedule and the speed of its reconstruction (none for RTN)', async () => {
    const model = tfjs.sequential({
      layers: [
        tfjs.layers.conv2d({ inputShape: [16, 16, 3], filters: 8, kernelSize: 3, activation: 'relu', kernelInitializer: tfjs.initializers.glorotUniform({ seed: 1 }) }),
        tfjs.layers.globalAveragePooling2d({}),
        tfjs.layers.dense({ units: 4, kernelInitializer: tfjs.initializers.glorotUniform({ seed: 2 }) }),
      ],
    });
    const calibration = new Rng(3).uniform([16, 16, 16, 3]);
    const nwq = await quantize(model, { method: 'nwq', calibration, iterations: 4, batchSize: 8 });
    expect(nwq.report.schedule).toMatchObject({ preset: 4, iterations: 4, scaled: false });
    expect(nwq.report.schedule!.macsPerImage).toBe(14 * 14 * 27 * 8 + 8 * 4);
    const sp = nwq.report.speed!;
    expect(sp.secondsPerIteration).toBeCloseTo(nwq.report.reconstructionSeconds / 4, 10);
    expect(sp.overFloor).toBeGreaterThan(1);
    // images held back from calibration: the calibration images themselves give the same share
    expect(nwq.report.heldOutAgreement).toBeNull();
    const rtn = await quantize(model, { method: 'rtn', calibration, heldOut: calibration });
    expect(rtn.report.heldOutImages).toBe(16);
    expect(rtn.report.heldOutAgreement).toBe(rtn.report.calibrationAgreement);
    const wrong = new Rng(4).uniform([2, 8, 8, 3]);
    await expect(quantize(model, { method: 'rtn', calibration, heldOut: wrong })).rejects.toThrow(/^heldOut: the tensor has shape \[2, 8, 8, 3\], the model takes \[N, 16, 16, 3\]/);
    wrong.dispose();
    expect(rtn.report.schedule).toBeNull();
    expect(rtn.report.speed).toBeNull();
    nwq.model.dispose();
    rtn.model.dispose();
    calibration.dispose();
    model.dispose();
  });
});
