import * as tf from '@tensorflow/tfjs-core';
import { LowbitError, maxRelError } from '@lowbit/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { batchNormProducers, disposeNetwork, forward, reestimateBatchNorm, switchableBatchNorm } from '../src/index.js';
import { batch, tinyResNet, wasm } from './fixtures.js';

beforeAll(wasm);

describe('switchable batch norm', () => {
  it('maps every BN to the layer that feeds it', () => {
    const net = tinyResNet();
    const p = batchNormProducers(net);
    expect(Object.fromEntries(p)).toEqual({ 'stem/bn': 'stem/conv', 'b1/bn1': 'b1/conv1', 'b1/bn2': 'b1/conv2', 'b2/bn1': 'b2/conv1', 'b2/bn2': 'b2/dw', 'b2/bn3': 'b2/conv2', 'b2/bnp': 'b2/proj' });
    disposeNetwork(net);
  });

  it('a fresh set reproduces the network; a changed set changes only the outputs that select it; training updates only the selected statistics', () => {
    const net = tinyResNet();
    const sbn = switchableBatchNorm(net, () => ['a', 'b']);
    const x = batch(3);
    const plain = tf.tidy(() => forward(net, x).output.dataSync());
    const viaA = tf.tidy(() => forward(net, x, { params: sbn.hook(() => 'a') }).output.dataSync());
    expect(maxRelError(viaA, plain)).toBeLessThan(1e-6);
    tf.tidy(() => sbn.sets.get('b1/bn1')!.get('b')!.beta.assign(tf.fill([4], 0.7)));
    const viaA2 = tf.tidy(() => forward(net, x, { params: sbn.hook(() => 'a') }).output.dataSync());
    const viaB = tf.tidy(() => forward(net, x, { params: sbn.hook(() => 'b') }).output.dataSync());
    expect(maxRelError(viaA2, plain)).toBeLessThan(1e-6);
    expect(maxRelError(viaB, plain)).toBeGreaterThan(1e-3);

    const before = sbn.sets.get('stem/bn')!.get('a')!.movingMean.dataSync().slice();
    const ownBefore = net.params['stem/bn']!['movingMean']!.dataSync().slice();
    tf.tidy(() => {
      forward(net, x, { training: true, updateBnStats: true, params: sbn.hook(() => 'b') });
    });
    expect(Array.from(sbn.sets.get('stem/bn')!.get('a')!.movingMean.dataSync())).toEqual(Array.from(before));
    expect(Array.from(net.params['stem/bn']!['movingMean']!.dataSync())).toEqual(Array.from(ownBefore));
    expect(maxRelError(sbn.sets.get('stem/bn')!.get('b')!.movingMean.dataSync(), before)).toBeGreaterThan(1e-3);

    expect(Object.keys(sbn.trainable())).toContain('b2/bn3/a/gamma');
    expect(Object.keys(sbn.trainable())).not.toContain('b2/bn3/a/movingMean');
    expect(Object.keys(sbn.all())).toHaveLength(7 * 2 * 4);
    expect(() => tf.tidy(() => forward(net, x, { params: sbn.hook(() => 'zz') }).output)).toThrow(LowbitError);
    sbn.dispose();
    x.dispose();
    disposeNetwork(net);
  });
});

describe('reestimateBatchNorm', () => {
  it('sets running statistics to the exact moments of each BN input in training mode, over several batches', () => {
    const net = tinyResNet();
    const xs = [batch(1, 5), batch(2, 3), batch(3, 4)];
    const all = tf.concat(xs, 0);
    const r = reestimateBatchNorm(net, xs);
    expect(r).toEqual({ batches: 3, samples: 12 });
    // Reference: the first BN's input is conv(input) (no BN before it), whose statistics over the
    // concatenated batch are the truth; BN in training mode makes later inputs batch-dependent, so
    // check the stem exactly.
    const [mean, variance] = tf.tidy(() => {
      const y = forward(net, all, { tapNodes: ['stem/conv'] }).nodes.get('stem/conv')!;
      const flat = tf.reshape(y, [-1, 4]);
      const m = tf.moments(flat, 0);
      const n = flat.shape[0]!;
      return [m.mean.dataSync(), tf.mul(m.variance, n / (n - 1)).dataSync()];
    });
    expect(maxRelError(net.params['stem/bn']!['movingMean']!.dataSync(), mean!)).toBeLessThan(1e-5);
    expect(maxRelError(net.params['stem/bn']!['movingVariance']!.dataSync(), variance!)).toBeLessThan(1e-5);
    // Every BN got written: its running mean now differs from the random fixture values.
    const fresh = tinyResNet();
    for (const bn of batchNormProducers(net).keys()) {
      expect(maxRelError(net.params[bn]!['movingMean']!.dataSync(), fresh.params[bn]!['movingMean']!.dataSync())).toBeGreaterThan(1e-3);
    }
    for (const x of [...xs, all]) x.dispose();
    disposeNetwork(fresh);
    disposeNetwork(net);
  });

  it('writes only the switchable set the hook selects, leaks nothing, rejects an empty calibration set', () => {
    const net = tinyResNet();
    const sbn = switchableBatchNorm(net, () => ['a', 'b']);
    const xs = [batch(4, 6)];
    const a0 = sbn.sets.get('b2/bn2')!.get('a')!.movingVariance.dataSync().slice();
    const n0 = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) reestimateBatchNorm(net, xs, { params: sbn.hook(() => 'b') });
    expect(tf.memory().numTensors).toBe(n0);
    expect(Array.from(sbn.sets.get('b2/bn2')!.get('a')!.movingVariance.dataSync())).toEqual(Array.from(a0));
    expect(maxRelError(sbn.sets.get('b2/bn2')!.get('b')!.movingVariance.dataSync(), a0)).toBeGreaterThan(1e-3);
    expect(() => reestimateBatchNorm(net, [])).toThrow(/no calibration batches/);
    xs[0]!.dispose();
    sbn.dispose();
    disposeNetwork(net);
  });
});
