import { initBackend } from '@lowbit/core';
import { bundledTestSet, subset } from '@lowbit/data';
import { countParams, disposeNetwork, forward } from '@lowbit/nn';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { hasReference, loadReference, referenceMetadata } from '../src/node/index.js';

beforeAll(() => initBackend({ backend: 'wasm', fallback: false }));

describe('bundled reference checkpoints', () => {
  for (const name of ['resnet-fm', 'mbv2-fm'] as const) {
    it(`${name} loads by name, with its training command and seed, and classifies`, () => {
      expect(hasReference(name)).toBe(true);
      const meta = referenceMetadata(name);
      expect(meta['command']).toMatch(new RegExp(`lowbit train --model ${name} .*--seed 1`));
      expect(['final', 'in-training']).toContain(meta['status']);
      const net = loadReference(name);
      expect(countParams(net)).toBe(name === 'resnet-fm' ? 77_754 : 32_234);
      // better than chance on the first 500 test images even mid-training
      const test = subset(bundledTestSet(), 500);
      const acc = tf.tidy(() => {
        const x = tf.tensor4d(Float32Array.from(test.images, (v) => v / 255), [500, 28, 28, 1]);
        const pred = tf.argMax(forward(net, x).output, 1).dataSync();
        let ok = 0;
        for (let i = 0; i < 500; i++) if (pred[i] === test.labels[i]) ok++;
        return ok / 500;
      });
      expect(acc).toBeGreaterThan(0.5);
      if (meta['status'] === 'final') expect(acc).toBeGreaterThan(name === 'resnet-fm' ? 0.9 : 0.89);
      disposeNetwork(net);
    });
  }
  it('unknown names are a clear error', () => {
    expect(() => loadReference('vgg')).toThrow(/unknown reference model 'vgg'/);
  });
});
