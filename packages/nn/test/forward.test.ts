import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@lowbit/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { disposeNetwork, foldBatchNorm, forward, trainableVariables } from '../src/index.js';
import { batch, tinyResNet, wasm } from './fixtures.js';

beforeAll(wasm);

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

describe('forward', () => {
  it('equals the same computation written with raw tfjs ops', () => {
    const net = tinyResNet();
    const x = batch(3);
    const p = net.params;
    const bn = (name: string, v: tf.Tensor) =>
      tf.add(tf.mul(tf.sub(v, p[name]!['movingMean']!), tf.div(p[name]!['gamma']!, tf.sqrt(tf.add(p[name]!['movingVariance']!, 1e-3)))), p[name]!['beta']!);
    const k = (name: string) => p[name]!['kernel'] as tf.Tensor4D;
    const d = tf.tidy(() => {
      const stem = tf.relu(bn('stem/bn', tf.conv2d(x as tf.Tensor4D, k('stem/conv'), 1, 'same'))) as tf.Tensor4D;
      const h1 = tf.relu(bn('b1/bn1', tf.conv2d(stem, k('b1/conv1'), 1, 'same'))) as tf.Tensor4D;
      const b1 = tf.relu(tf.add(bn('b1/bn2', tf.conv2d(h1, k('b1/conv2'), 1, 'same')), stem)) as tf.Tensor4D;
      const h2 = tf.relu6(bn('b2/bn1', tf.conv2d(b1, k('b2/conv1'), 2, 'same'))) as tf.Tensor4D;
      const dw = tf.relu6(bn('b2/bn2', tf.depthwiseConv2d(h2, k('b2/dw'), 1, 'same'))) as tf.Tensor4D;
      const y = bn('b2/bn3', tf.conv2d(dw, k('b2/conv2'), 1, 'same'));
      const s = bn('b2/bnp', tf.conv2d(b1, k('b2/proj'), 2, 'same'));
      const b2 = tf.relu(tf.add(y, s));
      const logits = tf.add(tf.matMul(tf.mean(b2, [1, 2]) as tf.Tensor2D, p['head/fc']!['kernel'] as tf.Tensor2D), p['head/fc']!['bias']!);
      return maxAbsDiff(forward(net, x).output, logits);
    });
    expect(d).toBeLessThan(1e-5);
    disposeNetwork(net);
  });

  it('BN folding changes no output (inference mode) to 1e-5, on wasm and cpu', async () => {
    for (const backend of ['wasm', 'cpu'] as const) {
      await initBackend({ backend, fallback: false });
      const net = tinyResNet(5);
      const folded = foldBatchNorm(net);
      expect(folded.nodes.some((n) => n.op === 'batchNorm')).toBe(false);
      expect(folded.nodes.find((n) => n.name === 'b2/dw')).toMatchObject({ useBias: true });
      const x = batch(8, 6);
      const d = tf.tidy(() => {
        const a = forward(net, x);
        const b = forward(folded, x);
        const scale = tf.max(tf.abs(a.output)).dataSync()[0]!;
        return maxAbsDiff(a.output, b.output) / Math.max(1, scale);
      });
      expect(d).toBeLessThan(1e-5);
      disposeNetwork(net);
      disposeNetwork(folded);
      x.dispose();
    }
    await wasm();
  });

  it('calls the weight hook per layer and the activation hook once per site', () => {
    const net = tinyResNet();
    const x = batch(1);
    const weights: string[] = [];
    const sites: string[] = [];
    tf.tidy(() => {
      forward(net, x, {
        weight: (l, w) => {
          weights.push(l.name);
          return w;
        },
        activation: (s, v) => {
          sites.push(s);
          return v;
        },
      });
    });
    expect(weights).toEqual(['stem/conv', 'b1/conv1', 'b1/conv2', 'b2/conv1', 'b2/dw', 'b2/conv2', 'b2/proj', 'head/fc']);
    expect(sites).toEqual(['input', 'stem/relu', 'b1/relu1', 'b1/out', 'b2/relu1', 'b2/relu2', 'head/gap']);
    disposeNetwork(net);
  });

  it('hooks change the result: zeroed activations at a site propagate', () => {
    const net = tinyResNet();
    const x = batch(2);
    const [plain, zeroed] = tf.tidy(() => {
      const a = forward(net, x).output;
      const b = forward(net, x, { activation: (s, v) => (s === 'head/gap' ? tf.zerosLike(v) : v) }).output;
      const bias = net.params['head/fc']!['bias']!;
      return [maxAbsDiff(a, b), maxAbsDiff(b, tf.tile(tf.expandDims(bias, 0), [4, 1]))];
    });
    expect(plain).toBeGreaterThan(1e-3);
    expect(zeroed).toBeLessThan(1e-6);
    disposeNetwork(net);
  });

  it('node taps at an activation site see the hooked value, or the raw one with tapBeforeActivationHook', () => {
    const net = tinyResNet();
    const x = batch(2);
    tf.tidy(() => {
      const hook = (s: string, v: tf.Tensor) => (s === 'b1/relu1' ? tf.round(v) : v);
      const raw = forward(net, x, { tapNodes: ['b1/relu1'] }).nodes.get('b1/relu1')!;
      const hooked = forward(net, x, { activation: hook, tapNodes: ['b1/relu1'] }).nodes.get('b1/relu1')!;
      const before = forward(net, x, { activation: hook, tapNodes: ['b1/relu1'], tapBeforeActivationHook: true }).nodes.get('b1/relu1')!;
      expect(maxAbsDiff(hooked, tf.round(raw))).toBe(0);
      expect(maxAbsDiff(raw, tf.round(raw))).toBeGreaterThan(0.01);
      expect(maxAbsDiff(before, raw)).toBe(0);
    });
    disposeNetwork(net);
  });

  it('taps block outputs, and running blocks piecewise equals the full forward', () => {
    const net = tinyResNet();
    const x = batch(4);
    const d = tf.tidy(() => {
      const full = forward(net, x, { tapBlocks: true });
      expect([...full.blocks.keys()]).toEqual(['stem', 'b1', 'b2', 'head']);
      const a = forward(net, x, { toBlock: 'b1' }).output;
      expect(maxAbsDiff(a, full.blocks.get('b1')!)).toBe(0);
      const b = forward(net, a, { fromBlock: 'b2', toBlock: 'b2' }).output;
      const c = forward(net, b, { fromBlock: 'head' }).output;
      return maxAbsDiff(c, full.output);
    });
    expect(d).toBe(0);
    expect(() => forward(net, x, { fromBlock: 'nope' })).toThrow(/unknown block 'nope'/);
    disposeNetwork(net);
  });

  it('training mode uses batch statistics and updates running statistics when asked', () => {
    const net = tinyResNet();
    const x = batch(6, 8);
    const before = net.params['stem/bn']!['movingMean']!.dataSync().slice();
    tf.tidy(() => {
      const y = forward(net, x, { training: true, tapNodes: ['stem/bn'] });
      const bnOut = y.nodes.get('stem/bn')!;
      const m = tf.mean(bnOut, [0, 1, 2]).dataSync();
      for (const v of m) expect(Math.abs(v - net.params['stem/bn']!['beta']!.dataSync()[m.indexOf(v)]!)).toBeLessThan(1e-4);
    });
    expect(Array.from(net.params['stem/bn']!['movingMean']!.dataSync())).toEqual(Array.from(before));
    tf.tidy(() => {
      forward(net, x, { training: true, updateBnStats: true });
    });
    expect(Array.from(net.params['stem/bn']!['movingMean']!.dataSync())).not.toEqual(Array.from(before));
    disposeNetwork(net);
  });

  it('training steps do not leak tensors (numTensors flat over 30 steps)', () => {
    const net = tinyResNet();
    const x = batch(7, 8);
    const labels = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1], 'int32'), 3);
    const vars = trainableVariables(net);
    const step = () =>
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(labels, forward(net, x, { training: true, updateBnStats: true }).output) as tf.Scalar, vars);
        for (const v of vars) v.assign(tf.sub(v, tf.mul(grads[v.name]!, 0.01)));
        return value.dataSync()[0]!;
      });
    const first = step();
    const baseline = tf.memory().numTensors;
    let last = first;
    for (let i = 0; i < 30; i++) last = step();
    expect(tf.memory().numTensors).toBe(baseline);
    expect(last).toBeLessThan(first);
    disposeNetwork(net);
  });
});
