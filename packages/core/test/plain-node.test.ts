import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');

describe('built @lowbit/core under plain node (no vitest, no bundler)', () => {
  it('registers gradients: tf.grad of a conv + batch-norm loss works on wasm', () => {
    expect(existsSync(join(pkgDir, 'dist/index.js')), 'run the build first (nx runs it before test)').toBe(true);
    const script = `
      import * as tf from '@tensorflow/tfjs-core';
      import { initBackend, batchNormTrain } from '@lowbit/core';
      const info = await initBackend();
      const x = tf.ones([2, 6, 6, 3]);
      const w = tf.fill([3, 3, 3, 4], 0.1);
      const g = tf.grads((a, b) => tf.sum(tf.square(batchNormTrain(tf.conv2d(a, b, 2, 'same'), { gamma: tf.ones([4]), beta: tf.zeros([4]), epsilon: 1e-3 }).y)))([x, w]);
      const dw = tf.depthwiseConv2d(x, tf.ones([3, 3, 3, 1]), 1, 'same');
      const gd = tf.grad((a) => tf.sum(tf.depthwiseConv2d(a, tf.ones([3, 3, 3, 1]), 2, 'valid')))(x);
      console.log(JSON.stringify({ backend: info.backend, shapes: g.map((t) => t.shape), dw: dw.shape, gd: gd.shape, finite: g.every((t) => t.dataSync().every(Number.isFinite)) }));
    `;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: pkgDir, encoding: 'utf8' });
    const r = JSON.parse(out.trim().split('\n').pop()!);
    expect(r.backend).toBe('wasm');
    expect(r.shapes).toEqual([
      [2, 6, 6, 3],
      [3, 3, 3, 4],
    ]);
    expect(r.gd).toEqual([2, 6, 6, 3]);
    expect(r.finite).toBe(true);
  });
});
