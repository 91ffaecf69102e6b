import * as tf from '@tensorflow/tfjs-core';
import { initBackend, maxRelError } from '@lowbit/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createNetwork, disposeNetwork, forward, trainableVariables, type NetworkSpec } from '../src/index.js';
import { transposePadding } from '../src/ops/conv2d-transpose.js';

type Case = { h: number; w: number; cin: number; k: [number, number]; s: [number, number]; padding: 'same' | 'valid'; out: [number, number]; filters: number };

function spec(c: Case): NetworkSpec {
  return {
    name: 't',
    inputShape: [c.h, c.w, c.cin],
    nodes: [{ op: 'conv2dTranspose', name: 'up', inputs: ['input'], filters: c.filters, kernelSize: c.k, strides: c.s, padding: c.padding, outputSize: c.out, useBias: true }],
    blocks: [{ name: 'b', nodes: ['up'] }],
  };
}

// stride 1/2/3, same/valid, kernels 1…4, the default output sizes and the other ones TF allows
const cases: Case[] = [
  { h: 5, w: 5, cin: 3, k: [3, 3], s: [1, 1], padding: 'same', out: [5, 5], filters: 4 },
  { h: 4, w: 5, cin: 2, k: [2, 2], s: [2, 2], padding: 'same', out: [8, 10], filters: 3 },
  { h: 4, w: 4, cin: 2, k: [4, 4], s: [2, 2], padding: 'same', out: [8, 8], filters: 2 },
  { h: 4, w: 4, cin: 2, k: [3, 3], s: [2, 2], padding: 'same', out: [7, 8], filters: 2 },
  { h: 3, w: 4, cin: 3, k: [3, 2], s: [3, 2], padding: 'same', out: [9, 7], filters: 2 },
  { h: 4, w: 3, cin: 2, k: [3, 3], s: [2, 2], padding: 'valid', out: [9, 7], filters: 3 },
  { h: 4, w: 4, cin: 2, k: [1, 1], s: [2, 2], padding: 'valid', out: [7, 8], filters: 2 },
  { h: 3, w: 3, cin: 2, k: [4, 2], s: [1, 3], padding: 'valid', out: [6, 8], filters: 2 },
];

const rand = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, 'float32', seed);

describe('conv2dTranspose', () => {
  afterAll(() => initBackend({ backend: 'wasm', fallback: false }));

  it('padding: before + after = what the spread-out input needs for a VALID convolution', () => {
    for (const c of cases) {
      for (const a of [0, 1] as const) {
        const [l, r] = transposePadding([c.h, c.w][a]!, c.out[a], c.k[a], c.s[a], c.padding);
        expect(([c.h, c.w][a]! - 1) * c.s[a] + 1 + l + r - c.k[a] + 1).toBe(c.out[a]);
      }
    }
  });

  it.each(cases.map((c) => [`${c.h}×${c.w} k${c.k} s${c.s} ${c.padding} → ${c.out}`, c] as const))('%s: forward and gradients (wasm) match tf.conv2dTranspose on cpu', async (_, c) => {
    const x = () => rand([2, c.h, c.w, c.cin], 1);
    const kernel = () => rand([c.k[0], c.k[1], c.filters, c.cin], 2);
    const bias = () => rand([c.filters], 3);
    const dy = () => rand([2, c.out[0], c.out[1], c.filters], 4);

    await initBackend({ backend: 'cpu', fallback: false });
    const ref = tf.tidy(() => {
      const f = (xx: tf.Tensor, kk: tf.Tensor, bb: tf.Tensor) => tf.add(tf.conv2dTranspose(xx as tf.Tensor4D, kk as tf.Tensor4D, [2, c.out[0], c.out[1], c.filters], c.s, c.padding), bb);
      const y = f(x(), kernel(), bias());
      const g = tf.grads((a, b, d) => tf.sum(tf.mul(f(a!, b!, d!), dy())))([x(), kernel(), bias()]);
      return [y, ...g].map((t) => Float32Array.from(t.dataSync()));
    });

    await initBackend({ backend: 'wasm', fallback: false });
    const net = createNetwork(spec(c), { seed: 1 });
    net.params['up']!['kernel']!.assign(kernel());
    net.params['up']!['bias']!.assign(bias());
    const got = tf.tidy(() => {
      const xv = tf.variable(x());
      const y = forward(net, xv).output;
      expect(y.shape).toEqual([2, c.out[0], c.out[1], c.filters]);
      const vars = [xv, ...trainableVariables(net)];
      const { grads } = tf.variableGrads(() => tf.sum(tf.mul(forward(net, xv, { training: true }).output, dy())) as tf.Scalar, vars);
      const out = [y, ...vars.map((v) => grads[v.name]!)].map((t) => Float32Array.from(t.dataSync()));
      xv.dispose();
      return out;
    });
    disposeNetwork(net);
    for (let i = 0; i < ref.length; i++) expect(maxRelError(got[i]!, ref[i]!)).toBeLessThan(1e-5);
  });

  it('refuses an output size the convolution it transposes would not map back to the input', () => {
    const c = { ...cases[1]!, out: [9, 10] as [number, number] };
    expect(() => createNetwork(spec(c), { seed: 1 })).toThrow(/conv2dTranspose 'up': output size \[9, 10\] does not fit input \[4, 5, 2\] \(a same convolution with kernel \[2, 2\], strides \[2, 2\] maps 9 to 5, not 4\)/);
  });
});
