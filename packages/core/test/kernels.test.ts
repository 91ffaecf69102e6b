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

describe('fused batch-norm kernels', () => {
  // Regression: with clang's auto-vectorisation, V8's optimising tier (which replaces the baseline
  // code at a timing-dependent moment) computed wrong per-channel sums for channel counts that are
  // not a multiple of 4 after a large call. Many calls over mixed shapes exercise both tiers.
  it('agree with float64 over 120 calls of mixed shapes (both V8 tiers)', async () => {
    await initBackend({ backend: 'wasm', fallback: false });
    const k = kernels()!;
    const shapes: Array<[number, number]> = [
      [125, 6],
      [105, 13],
      [12544, 4],
      [49, 96],
      [7, 1],
    ];
    let worst = 0;
    for (let it = 0; it < 24; it++) {
      for (const [r, c] of shapes) {
        const x = Float32Array.from({ length: r * c }, (_, i) => Math.sin(i * 0.7 + it) * 3 + 1);
        const g = Float32Array.from({ length: c }, (_, i) => 0.5 + ((i * 7) % 5) / 5);
        const b = Float32Array.from({ length: c }, (_, i) => ((i * 3) % 4) / 4 - 0.5);
        const f = k.batchNormForward(x, g, b, 1e-3, r, c);
        const mean = new Float64Array(c);
        const v = new Float64Array(c);
        for (let i = 0; i < r * c; i++) mean[i % c]! += x[i]! / r;
        for (let i = 0; i < r * c; i++) v[i % c]! += (x[i]! - mean[i % c]!) ** 2 / r;
        for (let ch = 0; ch < c; ch++) {
          worst = Math.max(worst, Math.abs(f.mean[ch]! - mean[ch]!) / (1 + Math.abs(mean[ch]!)), Math.abs(f.variance[ch]! - v[ch]!) / v[ch]!);
        }
        const last = r * c - 1;
        const want = ((x[last]! - mean[last % c]!) / Math.sqrt(v[last % c]! + 1e-3)) * g[last % c]! + b[last % c]!;
        worst = Math.max(worst, Math.abs(f.y[last]! - want) / (1 + Math.abs(want)));
        const d = Float32Array.from({ length: r * c }, (_, i) => Math.cos(i * 0.3));
        const bw = k.batchNormBackward(d, f.xhat.slice(), g, f.inv.slice(), r, c);
        let db = 0;
        for (let i = 0; i < r; i++) db += d[i * c + c - 1]!;
        worst = Math.max(worst, Math.abs(bw.dbeta[c - 1]! - db) / (1 + Math.abs(db)));
      }
    }
    expect(worst).toBeLessThan(1e-5);
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
