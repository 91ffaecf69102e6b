import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { initBackend, kernels } from '../src/index.js';
import { KERNELS_SOURCE_SHA256 } from '../src/kernels/kernels-wasm.js';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');

describe('lowbit WebAssembly kernels', () => {
  it('the embedded module was built from the current C sources (else run tools/wasm/build.sh)', () => {
    const dir = join(pkg, 'kernels');
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.c'))
      .sort();
    const h = createHash('sha256');
    for (const f of files) h.update(readFileSync(join(dir, f)));
    expect(h.digest('hex')).toBe(KERNELS_SOURCE_SHA256);
  });

  it('are loaded by initBackend and agree with a float64 loop on an odd channel count', async () => {
    const info = await initBackend({ backend: 'wasm', fallback: false });
    expect(info.kernels).toBe(true);
    const k = kernels()!;
    const [n, h, w, c, kh, kw, s, pt, pl] = [2, 5, 6, 7, 3, 3, 2, 1, 1];
    const ho = Math.ceil(h / s);
    const wo = Math.ceil(w / s);
    const x = Float32Array.from({ length: n * h * w * c }, (_, i) => Math.sin(i * 0.37));
    const dy = Float32Array.from({ length: n * ho * wo * c }, (_, i) => Math.cos(i * 0.11));
    const got = k.depthwiseFilterGrad(x, dy, { n, h, w, c, ho, wo, kh, kw, sh: s, sw: s, pt, pl });
    const ref = new Float64Array(kh * kw * c);
    for (let b = 0; b < n; b++)
      for (let i = 0; i < ho; i++)
        for (let j = 0; j < wo; j++)
          for (let a = 0; a < kh; a++)
            for (let bb = 0; bb < kw; bb++) {
              const y = i * s + a - pt;
              const xx = j * s + bb - pl;
              if (y < 0 || y >= h || xx < 0 || xx >= w) continue;
              for (let ch = 0; ch < c; ch++) ref[(a * kw + bb) * c + ch]! += x[((b * h + y) * w + xx) * c + ch]! * dy[((b * ho + i) * wo + j) * c + ch]!;
            }
    for (let i = 0; i < ref.length; i++) expect(Math.abs(got[i]! - ref[i]!)).toBeLessThan(1e-5);
  });
});

describe('shared-buffer Identity on wasm', () => {
  it('a clone survives disposal of its source and keeps its values', async () => {
    await initBackend({ backend: 'wasm', fallback: false });
    const before = tf.memory().numTensors;
    const a = tf.tensor1d([1, 2, 3]);
    const b = tf.clone(a);
    a.dispose();
    expect(Array.from(b.dataSync())).toEqual([1, 2, 3]);
    const v = tf.variable(b);
    const t = tf.tensor1d([4, 5, 6]);
    v.assign(t);
    expect(Array.from(b.dataSync())).toEqual([1, 2, 3]);
    expect(Array.from(v.dataSync())).toEqual([4, 5, 6]);
    t.dispose();
    b.dispose();
    v.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
