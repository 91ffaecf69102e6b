import * as tf from '@tensorflow/tfjs-core';
import { initBackend, Rng } from '@lowbit/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createNetwork, disposeNetwork, forward, type NodeSpec } from '../src/index.js';

beforeAll(() => initBackend({ backend: 'wasm', fallback: false }));

const net = (inputShape: number[], nodes: NodeSpec[]) => createNetwork({ name: 'h', inputShape, nodes, blocks: [{ name: 'b', nodes: nodes.map((n) => n.name) }] }, { seed: 1 });

describe('head ops: slice, sum, sub, div, abs, sqrt, rsqrt', () => {
  it('compute what the tfjs ops compute, per example', () => {
    const x = new Rng(3).uniform([2, 3, 4], 0.5, 2);
    const n = net(
      [3, 4],
      [
        { op: 'slice', name: 'col', inputs: ['input'], begin: [1, 2], size: [1, 2], squeeze: [0] },
        { op: 'sum', name: 'rows', inputs: ['input'], axes: [-1], keepDims: true },
        { op: 'slice', name: 'first', inputs: ['rows'], begin: [0, 0], size: [1, 1], squeeze: [] },
        { op: 'abs', name: 'abs', inputs: ['col'] },
        { op: 'sqrt', name: 'sq', inputs: ['abs'] },
        { op: 'rsqrt', name: 'r', inputs: ['sq'] },
        { op: 'reshape', name: 'r2', inputs: ['r'], targetShape: [1, 2] },
        { op: 'div', name: 'q', inputs: ['r2', 'first'] },
        { op: 'sub', name: 'd', inputs: ['q', 'first'] },
      ],
    );
    const got = forward(n, x, { tapNodes: ['col', 'rows'] });
    expect(got.nodes.get('col')!.shape).toEqual([2, 2]);
    expect(got.nodes.get('rows')!.shape).toEqual([2, 3, 1]);
    const want = tf.tidy(() => {
      const col = tf.reshape(tf.slice(x, [0, 1, 2], [2, 1, 2]), [2, 1, 2]);
      const first = tf.slice(tf.sum(x, 2, true), [0, 0, 0], [2, 1, 1]);
      return tf.sub(tf.div(tf.rsqrt(tf.sqrt(tf.abs(col))), first), first);
    });
    expect(Array.from(got.output.dataSync())).toEqual(Array.from(want.dataSync()));
    tf.dispose([x, got.output, ...got.nodes.values(), want]);
    disposeNetwork(n);
  });

  it('refuse boxes outside the value, squeezing a wide axis, repeated sum axes and mismatched operands by name', () => {
    expect(() => net([3, 4], [{ op: 'slice', name: 's', inputs: ['input'], begin: [2, 0], size: [2, 4], squeeze: [] }])).toThrow(/slice 's': begin \[2, 0\], size \[2, 4\], squeeze \[\] do not fit \[3, 4\]/);
    expect(() => net([3, 4], [{ op: 'slice', name: 's', inputs: ['input'], begin: [0, 0], size: [2, 4], squeeze: [0] }])).toThrow(/do not fit/);
    expect(() => net([3, 4], [{ op: 'sum', name: 's', inputs: ['input'], axes: [1, -1], keepDims: false }])).toThrow(/sum 's': axes \[1, -1\] are not distinct axes of a rank-2 value/);
    expect(() =>
      net([3, 4], [
        { op: 'sum', name: 's', inputs: ['input'], axes: [0], keepDims: false },
        { op: 'div', name: 'd', inputs: ['input', 's'] },
      ]),
    ).toThrow(/div 'd': inputs must have the same rank/);
  });
});
