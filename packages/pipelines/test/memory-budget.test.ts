import * as tfjs from '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import { evalContext, initBackend, LowbitError, Rng } from '@lowbit/core';
import { amixup } from '@lowbit/amixup';
import { resnetFmSpec, mbv2FmSpec } from '@lowbit/models';
import { activationBytes, createNetwork, disposeNetwork, foldBatchNorm, forward, PASS_FACTORS } from '@lowbit/nn';
import { PRESETS, reconstruct } from '@lowbit/nwq-reconstruct';
import { prepareQuantized } from '@lowbit/quantizers';
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultCacheMB, quantize } from '../src/index.js';

beforeAll(() => initBackend({ backend: 'wasm', fallback: false }));

// 32×32 inputs and 16–24 channels at full resolution: a few MB per image in a training pass
function wideModel(): tfjs.LayersModel {
  return tfjs.sequential({
    layers: [
      tfjs.layers.conv2d({ inputShape: [32, 32, 3], filters: 16, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: tfjs.initializers.glorotUniform({ seed: 1 }) }),
      tfjs.layers.conv2d({ filters: 24, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: tfjs.initializers.glorotUniform({ seed: 2 }) }),
      tfjs.layers.conv2d({ filters: 24, kernelSize: 3, strides: 2, activation: 'relu', kernelInitializer: tfjs.initializers.glorotUniform({ seed: 3 }) }),
      tfjs.layers.globalAveragePooling2d({}),
      tfjs.layers.dense({ units: 7, kernelInitializer: tfjs.initializers.glorotUniform({ seed: 4 }) }),
    ],
  });
}

describe('a memory budget smaller than one batch', () => {
  it('ptq completes in micro-batches with the result of an unlimited budget', async () => {
    const model = wideModel();
    const calibration = new Rng(1).uniform([40, 32, 32, 3]);
    const x = new Rng(2).uniform([32, 32, 32, 3]);
    const run = (memoryMB: number) => quantize(model, { method: 'nwq', calibration, iterations: 20, batchSize: 16, memoryMB, seed: 3 });
    const small = await run(8);
    const big = await run(4096);
    // the small budget really split the work: reconstruction passes, statistics and agreement batches
    expect(big.report.memory.microBatch).toBe(16);
    expect(small.report.memory.microBatch!).toBeGreaterThanOrEqual(1);
    expect(small.report.memory.microBatch!).toBeLessThan(16);
    expect(small.report.memory.statsBatch).toBeLessThan(big.report.memory.statsBatch);
    expect(small.report.memory.agreementBatch).toBeLessThan(big.report.memory.agreementBatch);
    // same rounding decisions up to a few codes (gradients summed in another order), same predictions
    const codes = (m: typeof small.model) => Object.values(m.network.params).flatMap((p) => (p['kernel'] ? Array.from(p['kernel'].dataSync()) : []));
    const a = codes(small.model);
    const b = codes(big.model);
    expect(a.length).toBe(b.length);
    const same = a.filter((v, i) => v === b[i]).length / a.length;
    expect(same).toBeGreaterThan(0.99);
    const agree = tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.argMax(small.model.predict(x), 1), tf.argMax(big.model.predict(x), 1)), 'float32')).dataSync()[0]!);
    expect(agree).toBeGreaterThanOrEqual(0.95);
    expect(small.report.calibrationAgreement).toBeCloseTo(big.report.calibrationAgreement, 1);
    small.model.dispose();
    big.model.dispose();
    tf.dispose([calibration, x]);
    model.dispose();
  }, 300_000);

  it('a budget that cannot hold one image is an E_MEMORY error before any work', async () => {
    const model = tfjs.sequential({ layers: [tfjs.layers.conv2d({ inputShape: [256, 256, 3], filters: 64, kernelSize: 3, padding: 'same' }), tfjs.layers.globalAveragePooling2d({}), tfjs.layers.dense({ units: 2 })] });
    const calibration = new Rng(1).uniform([4, 256, 256, 3]);
    const err = await quantize(model, { calibration, iterations: 5, memoryMB: 8 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LowbitError);
    expect((err as LowbitError).code).toBe('E_MEMORY');
    expect((err as Error).message).toMatch(/one image of a training pass needs about \d+ MB, more than config\.memoryMB of 8 MB/);
    await expect(quantize(model, { calibration, memoryMB: 0 })).rejects.toThrow(/config\.memoryMB must be a number ≥ 1 \(MB\), got 0/);
    await expect(quantize(model, { calibration, cacheMB: -1 })).rejects.toThrow(/config\.cacheMB must be a number ≥ 0 \(MB\), got -1/);
    calibration.dispose();
    model.dispose();
  }, 120_000);
});

describe('PASS_FACTORS stay above the peaks tf.profile measures', () => {
  for (const [name, spec] of [
    ['resnet-fm', resnetFmSpec],
    ['mbv2-fm', mbv2FmSpec],
  ] as const) {
    it(name, async () => {
      const net0 = createNetwork(spec(), { seed: 1 });
      const net = foldBatchNorm(net0);
      const B = 8;
      const x = new Rng(0).uniform([B, ...net.inputShape]);
      const q = prepareQuantized(net, { wBits: 4, aBits: 4, learnableActivations: true });
      q.calibrate([x]);
      const qo = q.forwardOptions(evalContext(new Rng(0)));
      const perImage = async (fn: () => tf.Tensor | Promise<tf.Tensor>) => {
        const start = tf.memory().numBytes;
        const p = await tf.profile(fn as () => tf.Tensor);
        tf.dispose(p.result as tf.Tensor);
        return (p.peakBytes - start) / B / activationBytes(net);
      };
      const measured = {
        inference: await perImage(() => tf.tidy(() => forward(net, x).output)),
        quantized: await perImage(() => tf.tidy(() => forward(q.net, x, qo).output)),
        paired: await perImage(() => tf.tidy(() => tf.add(forward(net, x).output, forward(q.net, x, qo).output))),
        training: await perImage(async () => {
          const calibration = { size: B, batch: (idx: Int32Array) => tf.gather(x, tf.tensor1d(idx, 'int32')) };
          await reconstruct({ setup: q, calibration, config: { ...PRESETS.nwq.config!, iterations: 1, batchSize: B, mixer: amixup(), seed: 0, targets: 'per-batch' } });
          return tf.scalar(0);
        }),
      };
      for (const k of Object.keys(measured) as Array<keyof typeof measured>) {
        expect(measured[k], k).toBeLessThanOrEqual(PASS_FACTORS[k]);
        // and not wildly pessimistic (the budget would be wasted)
        expect(measured[k], k).toBeGreaterThan(PASS_FACTORS[k] / 2);
      }
      q.dispose();
      x.dispose();
      disposeNetwork(net);
      disposeNetwork(net0);
    }, 120_000);
  }
});

describe('the default float-target cache budget', () => {
  it('is 40% of the free memory, between 256 MB and 8 GB, and 2048 MB where free memory is unknown', () => {
    expect(defaultCacheMB(null)).toBe(2048);
    expect(defaultCacheMB(10 * 2 ** 30)).toBe(4096);
    expect(defaultCacheMB(100 * 2 ** 20)).toBe(256);
    expect(defaultCacheMB(100 * 2 ** 30)).toBe(8192);
    expect(defaultCacheMB(Number.NaN)).toBe(2048);
  });

  it('quantize() reports the budget it resolved (a config value wins)', async () => {
    const model = wideModel();
    const calibration = new Rng(2).uniform([8, 32, 32, 3]);
    const auto = await quantize(model, { method: 'rtn', calibration });
    expect(auto.report.memory.cacheMB).toBeGreaterThanOrEqual(256);
    expect(auto.report.memory.cacheMB).toBeLessThanOrEqual(8192);
    const given = await quantize(model, { method: 'rtn', calibration, cacheMB: 300 });
    expect(given.report.memory.cacheMB).toBe(300);
    auto.model.dispose();
    given.model.dispose();
    calibration.dispose();
    model.dispose();
  });
});
