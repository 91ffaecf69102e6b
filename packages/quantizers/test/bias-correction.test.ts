import * as tf from '@tensorflow/tfjs-core';
import { evalContext, Rng } from '@lowbit/core';
import { cloneNetwork, createNetwork, disposeNetwork, forward, NetworkBuilder, quantizableLayers } from '@lowbit/nn';
import { beforeAll, describe, expect, it } from 'vitest';
import { correctBias, correctBiasAsync, dequantizeHardened, quantizeNetwork } from '../src/index.js';
import { use } from './helpers.js';

beforeAll(() => use('wasm'));

function net() {
  const spec = new NetworkBuilder('bcnet', [8, 8, 2])
    .block('stem', (b, x) => b.relu6('relu', b.batchNorm('bn', b.conv2d('conv', x, { filters: 8, kernel: 3 }))))
    .block('b1', (b, x) => {
      const h = b.relu6('r1', b.batchNorm('bn1', b.depthwiseConv2d('dw', x, { kernel: 3 })));
      return b.add2('add', b.batchNorm('bn2', b.conv2d('pw', h, { filters: 8, kernel: 1 })), x);
    })
    .block('b2', (b, x) => b.relu6('r2', b.batchNorm('bn', b.conv2d('conv', x, { filters: 12, kernel: 3, strides: 2 }))))
    .block('head', (b, x) => b.dense('fc', b.globalAvgPool('gap', x), { units: 5 }))
    .build();
  const n = createNetwork(spec, { seed: 11 });
  // BN statistics that are not the identity, so that folding gives real biases
  const rng = new Rng(11);
  for (const [name, p] of Object.entries(n.params)) {
    if (!name.includes('bn')) continue;
    for (const [k, v] of Object.entries(p)) v.assign(tf.tidy(() => tf.add(rng.uniform(v.shape), k === 'movingVariance' || k === 'gamma' ? 0.5 : -0.5)));
  }
  return n;
}

/** Per-channel means of every quantizable layer's raw output (before any activation quantizer). */
function layerMeans(q: ReturnType<typeof quantizeNetwork>, xs: tf.Tensor[], o: { weights: boolean; activations: boolean; floatBiases?: Map<string, tf.Tensor> }): Map<string, Float32Array> {
  const floatBiases = o.floatBiases;
  const names = quantizableLayers(q.net).map((l) => l.spec.name);
  const hooks = q.forwardOptions(evalContext(new Rng(0)));
  const sums = new Map<string, Float32Array>();
  let count = 0;
  for (const x of xs) {
    count += x.shape[0]!;
    tf.tidy(() => {
      const raw = new Map<string, tf.Tensor>();
      const r = forward(q.net, x, {
        ...(o.weights ? { weight: hooks.weight } : {}),
        ...(floatBiases ? { params: (s, p) => (floatBiases.has(s.name) ? { ...p, bias: floatBiases.get(s.name)! } : p) } : {}),
        activation: (site, v) => {
          raw.set(site, v);
          return o.activations ? hooks.activation!(site, v) : v;
        },
        tapNodes: names,
      });
      for (const n of names) {
        const y = raw.get(n) ?? r.nodes.get(n)!;
        const s = tf.sum(y, Array.from({ length: y.rank - 1 }, (_, i) => i)).dataSync() as Float32Array;
        const acc = sums.get(n) ?? new Float32Array(s.length);
        for (let i = 0; i < s.length; i++) acc[i]! += s[i]! / (y.size / y.shape[y.rank - 1]!);
        sums.set(n, acc);
      }
    });
  }
  for (const a of sums.values()) for (let i = 0; i < a.length; i++) a[i]! *= xs[0]!.shape[0]! / count;
  return sums;
}

describe('correctBias (empirical bias correction)', () => {
  for (const mode of ['quantized', 'float'] as const) {
    it(`after it every quantized layer's channel means equal the float network's (activations ${mode}); weights untouched; no leak`, () => {
      const n = net();
      const rng = new Rng(3);
      const calib = [rng.uniform([16, 8, 8, 2]), rng.uniform([16, 8, 8, 2])];
      const q = quantizeNetwork(n, calib, { wBits: 2, aBits: 4, weightGrid: 'asymmetric', keep8bit: [] });
      const floatBiases = new Map(quantizableLayers(q.net).map((l) => [l.spec.name, tf.clone(q.net.params[l.spec.name]!['bias']!)]));
      const want = layerMeans(q, calib, { weights: false, activations: false });
      const before = layerMeans(q, calib, { weights: true, activations: mode === 'quantized' });
      const codes = [...q.harden().values()].map((h) => Array.from(h.codes));
      const tensors = tf.memory().numTensors;
      const r = correctBias(q, () => calib, { activations: mode, onlyIfBetter: false });
      expect(tf.memory().numTensors).toBe(tensors);
      expect(r.layers).toEqual(['stem/conv', 'b1/dw', 'b1/pw', 'b2/conv', 'head/fc']);
      expect(r.images).toBe(32);
      expect(r.maxRelativeShift).toBeGreaterThan(0.01);
      const after = layerMeans(q, calib, { weights: true, activations: mode === 'quantized' });
      // the float network (its original biases) is unchanged by the correction
      const stillFloat = layerMeans(q, calib, { weights: false, activations: false, floatBiases });
      let gapBefore = 0;
      for (const [name, w] of want) {
        const scale = Math.max(...Array.from(w, Math.abs), 1e-3);
        for (let i = 0; i < w.length; i++) {
          expect(Math.abs(after.get(name)![i]! - w[i]!) / scale).toBeLessThan(1e-4);
          expect(stillFloat.get(name)![i]!).toBeCloseTo(w[i]!, 5);
          gapBefore = Math.max(gapBefore, Math.abs(before.get(name)![i]! - w[i]!) / scale);
        }
      }
      expect(gapBefore).toBeGreaterThan(1e-2);
      expect([...q.harden().values()].map((h) => Array.from(h.codes))).toEqual(codes);
      tf.dispose([...calib, ...floatBiases.values()]);
      q.dispose();
      disposeNetwork(n);
    });
  }

  it('a hardened model with the float network as reference gets the same biases as its quantized network', () => {
    const n = net();
    const rng = new Rng(6);
    const calib = [rng.uniform([16, 8, 8, 2])];
    const qa = quantizeNetwork(n, calib, { wBits: 2, aBits: 4, weightGrid: 'asymmetric' });
    const qb = quantizeNetwork(n, calib, { wBits: 2, aBits: 4, weightGrid: 'asymmetric' });
    correctBias(qa, () => calib, { onlyIfBetter: false });
    // what a saved quantized checkpoint holds: kernels on their grids, activation steps
    const hardened = cloneNetwork(qb.net);
    for (const [name, h] of qb.harden()) hardened.params[name]!['kernel']!.assign(tf.tensor(dequantizeHardened(h), h.shape));
    correctBias({ net: hardened, layers: qb.layers, forwardOptions: (ctx) => ({ activation: qb.forwardOptions(ctx).activation! }) }, () => calib, { reference: qb.net, onlyIfBetter: false });
    for (const l of quantizableLayers(qa.net)) {
      const a = qa.net.params[l.spec.name]!['bias']!.dataSync();
      const b = hardened.params[l.spec.name]!['bias']!.dataSync();
      for (let i = 0; i < a.length; i++) expect(b[i]!, l.spec.name).toBeCloseTo(a[i]!, 4);
    }
    const other = createNetwork(new NetworkBuilder('other', [8, 8, 2]).block('b', (b, x) => b.conv2d('c', x, { filters: 2, kernel: 1 })).build());
    const tensors = tf.memory().numTensors;
    expect(() => correctBias({ net: hardened, layers: qb.layers, forwardOptions: () => ({}) }, () => calib, { reference: other })).toThrow(/reference network lacks the biased layer\(s\) stem\/conv/);
    expect(tf.memory().numTensors).toBe(tensors);
    disposeNetwork(other);
    tf.dispose(calib);
    qa.dispose();
    qb.dispose();
    disposeNetwork(hardened);
    disposeNetwork(n);
  });

  it('onlyIfBetter (default): keeps the correction when the output error drops, else restores the original biases', () => {
    let kept = 0;
    for (const seed of [1, 2, 3, 4]) {
      const n = net();
      const rng = new Rng(seed);
      const calib = [rng.uniform([16, 8, 8, 2])];
      // a validation set unlike the calibration images, so that both outcomes can occur
      const validation = [tf.tidy(() => tf.mul(rng.uniform([16, 8, 8, 2]), seed % 2 ? 1 : -3))];
      const q = quantizeNetwork(n, calib, { wBits: 2, aBits: 4, weightGrid: 'asymmetric' });
      const original = quantizableLayers(q.net).map((l) => Array.from(q.net.params[l.spec.name]!['bias']!.dataSync()));
      const r = correctBias(q, () => calib, { validation: () => validation });
      const now = quantizableLayers(q.net).map((l) => Array.from(q.net.params[l.spec.name]!['bias']!.dataSync()));
      expect(r.outputError).not.toBeNull();
      if (r.kept) {
        kept++;
        expect(r.outputError!.after).toBeLessThan(r.outputError!.before);
        expect(now).not.toEqual(original);
      } else {
        expect(r.outputError!.after).toBeGreaterThanOrEqual(r.outputError!.before);
        expect(now).toEqual(original);
      }
      tf.dispose([...calib, ...validation]);
      q.dispose();
      disposeNetwork(n);
    }
    expect(kept).toBeGreaterThan(0);
  });

  it("criterion 'kl' measures the mean KL divergence of the class distributions (checked by hand before the correction)", () => {
    const n = net();
    const calib = [new Rng(5).uniform([16, 8, 8, 2])];
    const q = quantizeNetwork(n, calib, { wBits: 2, aBits: 4, weightGrid: 'asymmetric' });
    const hooks = q.forwardOptions(evalContext(new Rng(0)));
    const want = tf.tidy(() => {
      const lf = tf.logSoftmax(forward(q.net, calib[0]!).output);
      const lq = tf.logSoftmax(forward(q.net, calib[0]!, { weight: hooks.weight!, activation: hooks.activation! }).output);
      return tf.mean(tf.sum(tf.mul(tf.exp(lf), tf.sub(lf, lq)), 1)).dataSync()[0]!;
    });
    const r = correctBias(q, () => calib, { criterion: 'kl' });
    expect(want).toBeGreaterThan(0);
    expect(r.outputError!.before).toBeCloseTo(want, 5);
    expect(r.kept).toBe(r.outputError!.after < r.outputError!.before);
    tf.dispose(calib);
    q.dispose();
    disposeNetwork(n);
  });

  it("criterion 'agreement' counts the images whose top-1 class differs from the float network's (checked by hand) and keeps unless significantly worse", () => {
    const n = net();
    const calib = [new Rng(6).uniform([32, 8, 8, 2])];
    const q = quantizeNetwork(n, calib, { wBits: 2, aBits: 2, weightGrid: 'asymmetric' });
    const hooks = q.forwardOptions(evalContext(new Rng(0)));
    // the float network's classes, before any bias moves
    const f = tf.tidy(() => tf.argMax(forward(q.net, calib[0]!).output, 1).dataSync());
    const disagree = () =>
      tf.tidy(() => {
        const y = tf.argMax(forward(q.net, calib[0]!, { weight: hooks.weight!, activation: hooks.activation! }).output, 1).dataSync();
        return Array.from(f).filter((c, i) => c !== y[i]).length / f.length;
      });
    const want = disagree();
    const r = correctBias(q, () => calib, { criterion: 'agreement' });
    expect(want).toBeGreaterThan(0);
    expect(r.outputError!.before).toBeCloseTo(want, 6);
    // images lost and gained add up to the change of the disagreement rate; the correction stays unless significantly worse (McNemar, 2 sd)
    const { worse, better } = r.changedImages!;
    expect(worse + better).toBeGreaterThan(0);
    expect((worse - better) / 32).toBeCloseTo(r.outputError!.after - r.outputError!.before, 9);
    expect(r.kept).toBe(!(worse - better > 2 * Math.sqrt(worse + better)));
    // whatever was decided, the network now measures the error the report ends on
    expect(disagree()).toBeCloseTo(r.kept ? r.outputError!.after : r.outputError!.before, 6);
    expect(() => correctBias(q, () => calib, { criterion: 'top5' as never })).toThrow(/mse, kl or agreement, got 'top5'/);
    tf.dispose(calib);
    q.dispose();
    disposeNetwork(n);
  });

  it('a layer the policy keeps float is not corrected; no batches is a clear error', () => {
    const n = net();
    const rng = new Rng(4);
    const calib = [rng.uniform([8, 8, 8, 2])];
    const q = quantizeNetwork(n, calib, { wBits: 3, aBits: 8, policy: { 'b1/pw': { w: 32, a: 32 } } });
    const r = correctBias(q, () => calib);
    expect(r.layers).not.toContain('b1/pw');
    expect(() => correctBias(q, () => [])).toThrow(/at least one calibration batch/);
    expect(() => correctBias(q, () => calib, { activations: 'fp' as never })).toThrow(/quantized or float, got 'fp'/);
    tf.dispose(calib);
    q.dispose();
    disposeNetwork(n);
  });

  it('correctBiasAsync gives the same biases and report as correctBias, lets timers run between layers, and on abort leaves every bias as it was (no leak)', async () => {
    const n = net();
    const rng = new Rng(8);
    const calib = [rng.uniform([16, 8, 8, 2])];
    const qa = quantizeNetwork(n, calib, { wBits: 2, aBits: 4, weightGrid: 'asymmetric' });
    const qb = quantizeNetwork(n, calib, { wBits: 2, aBits: 4, weightGrid: 'asymmetric' });
    const biases = (q: typeof qa) => quantizableLayers(q.net).map((l) => Array.from(q.net.params[l.spec.name]!['bias']!.dataSync()));
    const original = biases(qb);
    const ra = correctBias(qa, () => calib, { criterion: 'agreement', onlyIfBetter: false });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    const rb = await correctBiasAsync(qb, () => calib, { criterion: 'agreement', onlyIfBetter: false });
    clearInterval(timer);
    expect(biases(qb)).toEqual(biases(qa));
    expect({ ...rb, seconds: 0 }).toEqual({ ...ra, seconds: 0 });
    expect(biases(qb)).not.toEqual(original);
    // one turn of the event loop before the float pass and each of the five layers
    expect(ticks).toBeGreaterThanOrEqual(3);
    // aborted after the second layer: every bias back as it was, nothing left behind
    tf.tidy(() => {
      for (const [i, l] of quantizableLayers(qb.net).entries()) (qb.net.params[l.spec.name]!['bias'] as tf.Variable).assign(tf.tensor(original[i]!));
    });
    const controller = new AbortController();
    let seen = 0;
    const tensors = tf.memory().numTensors;
    const batches = () => {
      if (++seen === 4) setImmediate(() => controller.abort());
      return calib;
    };
    await expect(correctBiasAsync(qb, batches, { onlyIfBetter: false, signal: controller.signal })).rejects.toThrow(/bias correction: stopped on request \(the biases are as they were\)/);
    expect(seen).toBeGreaterThanOrEqual(4);
    expect(seen).toBeLessThan(7);
    expect(biases(qb)).toEqual(original);
    expect(tf.memory().numTensors).toBe(tensors);
    tf.dispose(calib);
    qa.dispose();
    qb.dispose();
    disposeNetwork(n);
  });
});
