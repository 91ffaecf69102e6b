import * as tf from '@tensorflow/tfjs-core';
import { initBackend, Rng } from '@lowbit/core';
import { createNetwork, disposeNetwork, NetworkBuilder } from '@lowbit/nn';
import { beforeAll, describe, expect, it } from 'vitest';
import { calibrationRows, topOneAgreement, topOneClasses } from '../src/index.js';

beforeAll(() => initBackend({ backend: 'wasm', fallback: false }));

describe('top-1 agreement', () => {
  it('compares per-image classes of an output with spatial axes ([1, 1, C] heads), never counting one image twice', () => {
    // a conv head whose output is [1, 1, 5] per image, as imported GraphModels often end
    const spec = new NetworkBuilder('head', [2, 2, 3]).block('b', (b, x) => b.conv2d('c', x, { filters: 5, kernel: [2, 2], padding: 'valid' })).build();
    const net = createNetwork(spec, { seed: 1 });
    const x = new Rng(2).uniform([6, 2, 2, 3]);
    const rows = calibrationRows(x.dataSync() as Float32Array, [2, 2, 3]);
    x.dispose();
    expect(topOneAgreement(net, rows, {})).toBe(1);
    // negated kernels move the argmax of some images: a share in [0, 1)
    const flipped = topOneAgreement(net, rows, { weight: (_l, k) => tf.neg(k) });
    expect(flipped).toBeGreaterThanOrEqual(0);
    expect(flipped).toBeLessThan(1);
    // the float classes computed once give the same share
    expect(topOneAgreement(net, rows, { weight: (_l, k) => tf.neg(k) }, 128, topOneClasses(net, rows))).toBe(flipped);
    disposeNetwork(net);
  });
});
