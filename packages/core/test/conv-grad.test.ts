import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { Rng, setKernelsEnabled } from '../src/index.js';
import { onBackend, relErr } from './helpers.js';

type Pad = 'same' | 'valid';
interface Case {
  n: number;
  h: number;
  w: number;
  cin: number;
  cout: number;
  k: number;
  stride: number | [number, number];
  pad: Pad;
}

const cases: Case[] = [];
for (const k of [1, 3, 5]) {
  for (const stride of [1, 2, 3]) {
    for (const pad of ['same', 'valid'] as const) {
      for (const [h, w] of [
        [7, 7],
        [8, 6],
      ] as const) {
        if (pad === 'valid' && k > Math.min(h, w)) continue;
        cases.push({ n: 2, h, w, cin: 3, cout: 4, k, stride, pad });
      }
    }
  }
}

// asymmetric strides (Conv2D only: tfjs's depthwise conv needs equal strides)
const asymmetric: Case[] = [
  { n: 2, h: 7, w: 8, cin: 3, cout: 4, k: 3, stride: [2, 1], pad: 'same' },
  { n: 2, h: 8, w: 7, cin: 3, cout: 4, k: 3, stride: [1, 3], pad: 'valid' },
];

function fill(rng: Rng, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal();
  return a;
}

function outSize(inSize: number, k: number, s: number, pad: Pad): number {
  return pad === 'same' ? Math.ceil(inSize / s) : Math.ceil((inSize - k + 1) / s);
}

const name = (c: Case) => `${c.h}x${c.w} k${c.k} s${c.stride} ${c.pad}`;
const sOf = (c: Case): [number, number] => (Array.isArray(c.stride) ? c.stride : [c.stride, c.stride]);

describe('Conv2D gradient from forward convolutions', () => {
  for (const c of [...cases, ...asymmetric]) {
    it(`matches the cpu backend's backprop kernels (${name(c)})`, async () => {
      const [sh, sw] = sOf(c);
      const rng = new Rng(c.h * 100 + c.k * 10 + sh * 3 + sw);
      const ho = outSize(c.h, c.k, sh, c.pad);
      const wo = outSize(c.w, c.k, sw, c.pad);
      const xs: [number, number, number, number] = [c.n, c.h, c.w, c.cin];
      const fs: [number, number, number, number] = [c.k, c.k, c.cin, c.cout];
      const ds: [number, number, number, number] = [c.n, ho, wo, c.cout];
      const xv = fill(rng, c.n * c.h * c.w * c.cin);
      const fv = fill(rng, c.k * c.k * c.cin * c.cout);
      const dv = fill(rng, c.n * ho * wo * c.cout);
      const attrs = { strides: [sh, sw], pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: undefined };

      const ref = await onBackend('cpu', () =>
        tf.tidy(() => {
          const x = tf.tensor4d(xv, xs);
          const f = tf.tensor4d(fv, fs);
          const dy = tf.tensor4d(dv, ds);
          const dx = tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: f }, { ...attrs, inputShape: xs } as never) as tf.Tensor;
          const dw = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: fs } as never) as tf.Tensor;
          return { dx: dx.dataSync().slice(), dw: dw.dataSync().slice() };
        }),
      );
      for (const backend of ['wasm', 'cpu'] as const) {
        const got = await onBackend(backend, () =>
          tf.tidy(() => {
            const x = tf.tensor4d(xv, xs);
            const f = tf.tensor4d(fv, fs);
            const dy = tf.tensor4d(dv, ds);
            const [gx, gf] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
              tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad), dy)),
            )([x, f]);
            return { dx: gx!.dataSync().slice(), dw: gf!.dataSync().slice() };
          }),
        );
        expect(relErr(got.dx, ref.dx), `${backend} dx`).toBeLessThan(1e-4);
        expect(relErr(got.dw, ref.dw), `${backend} dW`).toBeLessThan(1e-4);
      }
    });
  }
});

describe('DepthwiseConv2dNative gradient from forward depthwise convolutions', () => {
  const dcases = cases.map((c) => ({ ...c, stride: sOf(c)[0], cout: c.cin }));
  for (const mult of [1, 2]) {
    for (const c of mult === 1 ? dcases : dcases.filter((d) => d.k === 3)) {
      it(`matches the cpu backend's backprop kernels (${name(c)} multiplier ${mult})`, async () => {
        const rng = new Rng(c.h * 1000 + c.k * 10 + c.stride + mult);
        const ho = outSize(c.h, c.k, c.stride, c.pad);
        const wo = outSize(c.w, c.k, c.stride, c.pad);
        const xs: [number, number, number, number] = [c.n, c.h, c.w, c.cin];
        const fs: [number, number, number, number] = [c.k, c.k, c.cin, mult];
        const ds: [number, number, number, number] = [c.n, ho, wo, c.cin * mult];
        const xv = fill(rng, c.n * c.h * c.w * c.cin);
        const fv = fill(rng, c.k * c.k * c.cin * mult);
        const dv = fill(rng, c.n * ho * wo * c.cin * mult);
        const attrs = { strides: [c.stride, c.stride], dilations: [1, 1], pad: c.pad, dimRoundingMode: undefined };
        const ref = await onBackend('cpu', () =>
          tf.tidy(() => {
            const x = tf.tensor4d(xv, xs);
            const f = tf.tensor4d(fv, fs);
            const dy = tf.tensor4d(dv, ds);
            const dx = tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter: f }, { ...attrs, inputShape: xs } as never) as tf.Tensor;
            const dw = tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { ...attrs, filterShape: fs } as never) as tf.Tensor;
            return { dx: dx.dataSync().slice(), dw: dw.dataSync().slice() };
          }),
        );
        // lowbit's SIMD kernels (multiplier 1) and the forward-depthwise-conv op path
        for (const useKernels of [true, false]) {
          for (const backend of ['wasm', 'cpu'] as const) {
            const prev = setKernelsEnabled(useKernels);
            try {
              const got = await onBackend(backend, () =>
                tf.tidy(() => {
                  const x = tf.tensor4d(xv, xs);
                  const f = tf.tensor4d(fv, fs);
                  const dy = tf.tensor4d(dv, ds);
                  const [gx, gf] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
                    tf.sum(tf.mul(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad), dy)),
                  )([x, f]);
                  return { dx: gx!.dataSync().slice(), dw: gf!.dataSync().slice() };
                }),
              );
              const tag = `${backend} ${useKernels ? 'kernels' : 'ops'}`;
              expect(relErr(got.dx, ref.dx), `${tag} dx`).toBeLessThan(1e-4);
              expect(relErr(got.dw, ref.dw), `${tag} dW`).toBeLessThan(1e-4);
            } finally {
              setKernelsEnabled(prev);
            }
          }
        }
      });
    }
  }
});
