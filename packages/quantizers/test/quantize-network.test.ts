import * as tf from '@tensorflow/tfjs-core';
import { evalContext, Rng } from '@lowbit/core';
import { bitOps, createNetwork, disposeNetwork, forward, NetworkBuilder } from '@lowbit/nn';
import { beforeAll, describe, expect, it } from 'vitest';
import { dequantizeHardened, quantizeNetwork } from '../src/index.js';
import { use } from './helpers.js';

beforeAll(() => use('wasm'));

function net() {
  const spec = new NetworkBuilder('qnet', [8, 8, 1])
    .block('stem', (b, x) => b.relu('relu', b.batchNorm('bn', b.conv2d('conv', x, { filters: 8, kernel: 3 }))))
    .block('b1', (b, x) => {
      const h = b.relu6('r1', b.batchNorm('bn1', b.depthwiseConv2d('dw', x, { kernel: 3 })));
      return b.relu('out', b.add2('add', b.batchNorm('bn2', b.conv2d('pw', h, { filters: 8, kernel: 1 })), x));
    })
    .block('head', (b, x) => b.dense('fc', b.globalAvgPool('gap', x), { units: 5 }))
    .build();
  return createNetwork(spec, { seed: 4 });
}

function relErr(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.div(tf.norm(tf.sub(a, b)), tf.norm(b)).dataSync()[0]!);
}

describe('quantizeNetwork (round-to-nearest PTQ)', () => {
  it('8-bit outputs track the float network; fewer bits drift further; first/last kept at 8 bits', () => {
    const n = net();
    const rng = new Rng(1);
    const calib = [rng.uniform([16, 8, 8, 1]), rng.uniform([16, 8, 8, 1])];
    const x = rng.uniform([16, 8, 8, 1]);
    const errs: number[] = [];
    for (const bits of [8, 4, 2]) {
      const q = quantizeNetwork(n, calib, { wBits: bits, aBits: bits });
      expect(q.policy['stem/conv']).toEqual({ w: 8, a: 8 });
      expect(q.policy['head/fc']).toEqual({ w: 8, a: 8 });
      expect(q.policy['b1/dw']).toEqual({ w: bits, a: bits });
      expect([...q.sites.keys()]).toEqual(['stem/relu', 'b1/r1', 'head/gap']);
      expect(q.sites.get('stem/relu')!.signed).toBe(false);
      errs.push(
        tf.tidy(() => {
          const fp = forward(n, x).output;
          const qo = forward(q.net, x, q.forwardOptions(evalContext(rng))).output;
          return relErr(qo, fp);
        }),
      );
      const hard = q.harden();
      expect([...hard.keys()]).toEqual(['stem/conv', 'b1/dw', 'b1/pw', 'head/fc']);
      expect(hard.get('b1/dw')!.axis).toBe(2);
      expect(hard.get('b1/pw')!.bits).toBe(bits);
      // hardened weights are what the fake-quantized forward uses
      const w = q.net.params['b1/pw']!['kernel']!;
      const ql = q.layers.get('b1/pw')!;
      const fq = tf.tidy(() => ql.quantizer.apply(w, ql.state, evalContext(rng)).dataSync());
      expect(Array.from(dequantizeHardened(hard.get('b1/pw')!), (v) => v + 0)).toEqual(Array.from(fq, (v) => v + 0));
      q.dispose();
    }
    expect(errs[0]!).toBeLessThan(0.02);
    expect(errs[1]!).toBeGreaterThan(errs[0]!);
    expect(errs[2]!).toBeGreaterThan(errs[1]!);
    tf.dispose([...calib, x]);
    disposeNetwork(n);
  });

  it('a transposed convolution is a weighted layer: per output channel (axis 2 of [kh, kw, out, in]), its BN folded', () => {
    const spec = new NetworkBuilder('decoder', [4, 4, 3])
      .block('stem', (b, x) => b.relu('relu', b.conv2d('conv', x, { filters: 6, kernel: 3 })))
      .block('up', (b, x) => b.relu('relu', b.batchNorm('bn', b.conv2dTranspose('t', x, { filters: 5, kernel: 3, strides: 2, outputSize: [8, 8] }))))
      .block('head', (b, x) => b.mul('gate', b.conv2d('conv', x, { filters: 2, kernel: 1 }), b.conv2d('g', x, { filters: 2, kernel: 1 })))
      .build();
    const n = createNetwork(spec, { seed: 3 });
    // non-trivial BN statistics, so that a fold along the wrong kernel axis shows
    const rng = new Rng(3);
    for (const [p, v] of Object.entries(n.params['up/bn']!)) v.assign(tf.tidy(() => tf.add(rng.uniform(v.shape), p === 'movingVariance' || p === 'gamma' ? 0.5 : -0.5)));
    const calib = [rng.uniform([8, 4, 4, 3])];
    const q = quantizeNetwork(n, calib, { wBits: 8, aBits: 8 });
    expect(q.net.nodes.find((x) => x.name === 'up/bn')).toBeUndefined();
    const hard = q.harden().get('up/t')!;
    expect(hard.axis).toBe(2);
    expect(hard.scale).toHaveLength(5);
    const x = rng.uniform([4, 4, 4, 3]);
    const q4 = quantizeNetwork(n, calib, { wBits: 4, aBits: 4 });
    const [e8, e4] = [q, q4].map((m) => tf.tidy(() => relErr(forward(m.net, x, m.forwardOptions(evalContext(rng))).output, forward(n, x).output)));
    // the head squares quantization errors (a product of two convolutions): looser than a plain CNN
    expect(e8).toBeLessThan(0.1);
    expect(e4).toBeGreaterThan(2 * e8!);
    q.dispose();
    q4.dispose();
    tf.dispose([...calib, x]);
    disposeNetwork(n);
  });

  it('reports BitOps of the policy and runs without leaking', () => {
    const n = net();
    const rng = new Rng(2);
    const calib = [rng.uniform([8, 8, 8, 1])];
    const q = quantizeNetwork(n, calib, { wBits: 4, aBits: 4 });
    expect(bitOps(q.net, q.policy)).toBeLessThan(bitOps(q.net, {}) / 10);
    const x = rng.uniform([4, 8, 8, 1]);
    const run = () => tf.tidy(() => forward(q.net, x, q.forwardOptions(evalContext(rng))).output.dataSync());
    run();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) run();
    expect(tf.memory().numTensors).toBe(before);
    q.dispose();
    tf.dispose([...calib, x]);
    disposeNetwork(n);
  });

  it('a policy with w: 32 / a: 32 keeps that layer float (weights untouched, not hardened, its input site unquantized)', () => {
    const n = net();
    const rng = new Rng(5);
    const calib = [rng.uniform([8, 8, 8, 1])];
    const q = quantizeNetwork(n, calib, { wBits: 2, aBits: 2, policy: { 'b1/pw': { w: 32, a: 32 } } });
    expect(q.layers.has('b1/pw')).toBe(false);
    expect([...q.harden().keys()]).toEqual(['stem/conv', 'b1/dw', 'head/fc']);
    expect([...q.sites.keys()]).not.toContain('b1/r1');
    const w = q.net.params['b1/pw']!['kernel']!;
    const seen: Record<string, tf.Tensor> = {};
    tf.tidy(() => {
      const o = q.forwardOptions(evalContext(rng));
      seen['pw'] = tf.keep(o.weight!({ name: 'b1/pw' } as never, w));
      seen['dw'] = tf.keep(o.weight!({ name: 'b1/dw' } as never, q.net.params['b1/dw']!['kernel']!));
    });
    expect(seen['pw']!.dataSync()).toEqual(w.dataSync());
    // a 2-bit layer next to it still lands on 4 levels per channel
    expect(new Set(seen['dw']!.dataSync()).size).toBeLessThanOrEqual(4 * 8);
    expect(new Set(seen['dw']!.dataSync()).size).toBeLessThan(q.net.params['b1/dw']!['kernel']!.size);
    tf.dispose([...Object.values(seen), ...calib]);
    q.dispose();
    disposeNetwork(n);
  });

  it("weightGrid 'auto': a zero point per channel below 8 bits, a symmetric grid for the 8-bit layers", () => {
    const n = net();
    const calib = [new Rng(7).uniform([8, 8, 8, 1])];
    const q = quantizeNetwork(n, calib, { wBits: 3, aBits: 8, weightGrid: 'auto' });
    const hard = q.harden();
    expect(hard.get('stem/conv')!.bits).toBe(8);
    for (const l of ['stem/conv', 'head/fc']) {
      // signed codes around a zero point of 0
      expect(Array.from(hard.get(l)!.zeroPoint).every((z) => z === 0), l).toBe(true);
      expect(Math.min(...hard.get(l)!.codes), l).toBeLessThan(0);
    }
    for (const l of ['b1/dw', 'b1/pw']) {
      // unsigned codes 0..7 and a zero point per channel
      expect(hard.get(l)!.zeroPoint, l).toHaveLength(8);
      expect(Array.from(hard.get(l)!.zeroPoint).some((z) => z !== 0), l).toBe(true);
      expect(Math.min(...hard.get(l)!.codes)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...hard.get(l)!.codes)).toBeLessThanOrEqual(7);
    }
    expect(() => quantizeNetwork(n, calib, { wBits: 3, aBits: 8, weightGrid: 'skew' as never })).toThrow(/weightGrid must be one of symmetric, asymmetric, auto, got 'skew'/);
    q.dispose();
    tf.dispose(calib);
    disposeNetwork(n);
  });

  it('an empty calibration set is a clear error', () => {
    const n = net();
    expect(() => quantizeNetwork(n, [], { wBits: 4, aBits: 4 })).toThrow(/calibration set is empty/);
    disposeNetwork(n);
  });
});
