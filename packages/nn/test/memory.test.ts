import * as tf from '@tensorflow/tfjs-core';
import { LowbitError, Rng } from '@lowbit/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { activationBytes, checkPassFits, cloneNetwork, disposeNetwork, forward, microBatchSize, NetworkBuilder, PASS_FACTORS, passBytesPerImage, switchableBatchNorm } from '../src/index.js';
import { tinyResNet, wasm } from './fixtures.js';

beforeAll(wasm);

const chain = () =>
  new NetworkBuilder('chain', [8, 8, 3])
    .block('stem', (b, x) => b.relu('relu', b.conv2d('conv', x, { filters: 4, kernel: 3, strides: 2 })))
    .block('head', (b, x) => b.dense('fc', b.globalAvgPool('gap', x), { units: 5 }))
    .build();

describe('activation bytes and micro-batch sizes', () => {
  it('counts the input and every node output, by hand', () => {
    // input 8·8·3, conv 4·4·4, relu 4·4·4, gap 4, fc 5 — float32
    expect(activationBytes(chain())).toBe(4 * (192 + 64 + 64 + 4 + 5));
    expect(passBytesPerImage(chain(), 'training')).toBe(Math.ceil(4 * 329 * PASS_FACTORS.training));
  });

  it('fits the budget, honours the cap, never goes below 1, and rejects bad budgets', () => {
    const spec = chain();
    const per = passBytesPerImage(spec, 'inference');
    expect(microBatchSize(spec, 'inference', { budgetBytes: 10 * per })).toBe(10);
    expect(microBatchSize(spec, 'inference', { budgetBytes: 10 * per + per - 1 })).toBe(10);
    expect(microBatchSize(spec, 'inference', { budgetBytes: 10 * per, cap: 3 })).toBe(3);
    expect(microBatchSize(spec, 'inference', { budgetBytes: 1 })).toBe(1);
    expect(() => microBatchSize(spec, 'inference', { budgetBytes: 0 })).toThrow(/memory budget must be a positive/);
    expect(() => microBatchSize(spec, 'inference', { cap: 0 })).toThrow(/cap must be ≥ 1/);
  });

  it('E_MEMORY names the network, the pass and the option when one image does not fit', () => {
    const spec = chain();
    checkPassFits(spec, 'training', passBytesPerImage(spec, 'training'));
    try {
      checkPassFits(spec, 'training', 1000, '--memory-mb');
      throw new Error('no error');
    } catch (e) {
      expect(e).toBeInstanceOf(LowbitError);
      expect((e as LowbitError).code).toBe('E_MEMORY');
      expect((e as Error).message).toMatch(/network 'chain': one image of a training pass needs about .* MB, more than --memory-mb of 0 MB/);
    }
  });

  it('the inference factor is above the peak tf.profile measures for a forward inside one tidy', async () => {
    const net = tinyResNet();
    const x = new Rng(0).uniform([16, ...net.inputShape]);
    const start = tf.memory().numBytes;
    const p = await tf.profile(() => tf.tidy(() => forward(net, x).output));
    tf.dispose(p.result as tf.Tensor);
    const perImage = (p.peakBytes - start) / 16;
    expect(perImage).toBeGreaterThan(activationBytes(net)); // the count is not trivially small
    expect(perImage).toBeLessThanOrEqual(passBytesPerImage(net, 'inference'));
    x.dispose();
    disposeNetwork(net);
  });
});

describe('no tensor outlives its network', () => {
  it('createNetwork, cloneNetwork and switchable BN sets give back every tensor and byte on dispose', () => {
    const { numTensors, numBytes } = tf.memory();
    const net = tinyResNet();
    const copy = cloneNetwork(net);
    const sbn = switchableBatchNorm(net, () => ['a', 'b']);
    expect(tf.memory().numBytes).toBeGreaterThan(numBytes);
    sbn.dispose();
    disposeNetwork(copy);
    disposeNetwork(net);
    expect(tf.memory().numTensors).toBe(numTensors);
    expect(tf.memory().numBytes).toBe(numBytes);
  });
});
