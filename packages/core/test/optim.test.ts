import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { adam, clipGradsByValue, ExponentialMovingAverage, type GradMap, initBackend, type ParamMap, partitioned, Rng, sgd } from '../src/index.js';

beforeAll(() => initBackend({ backend: 'wasm', fallback: false }));

const rng = new Rng(3);
const randomArray = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
function params(seed: number): ParamMap {
  const r = new Rng(seed);
  const v = (shape: number[]) => tf.variable(tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r.normal()), shape), true);
  return { 'conv/kernel': v([3, 3, 2, 4]), 'conv/bias': v([4]), 'q/w/conv/4': v([4]), 'q/a/relu/4': v([]) };
}
const gradsFor = (p: ParamMap, step: number): GradMap => {
  const r = new Rng(100 + step);
  return Object.fromEntries(Object.entries(p).map(([k, v]) => [k, tf.tensor(Float32Array.from({ length: v.size }, () => r.normal()), v.shape)]));
};
const values = (p: ParamMap) => Object.fromEntries(Object.entries(p).map(([k, v]) => [k, Array.from(v.dataSync())]));
const isStep = (k: string) => k.startsWith('q/');
const makeParts = () =>
  partitioned([
    { name: 'weights', select: (k) => !isStep(k), optimizer: sgd({ lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-3 }) },
    { name: 'steps', select: isStep, optimizer: adam({ lr: 0.01 }) },
  ]);

describe('partitioned optimizer', () => {
  it('steps each group exactly as its own optimiser alone would', () => {
    const a = params(1);
    const b = params(1);
    const opt = makeParts();
    const w = sgd({ lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-3 });
    const s = adam({ lr: 0.01 });
    for (let i = 0; i < 4; i++) {
      const ga = gradsFor(a, i);
      const gb = gradsFor(b, i);
      opt.step(a, ga);
      w.step(
        Object.fromEntries(Object.entries(b).filter(([k]) => !isStep(k))),
        Object.fromEntries(Object.entries(gb).filter(([k]) => !isStep(k))),
      );
      s.step(
        Object.fromEntries(Object.entries(b).filter(([k]) => isStep(k))),
        Object.fromEntries(Object.entries(gb).filter(([k]) => isStep(k))),
      );
      tf.dispose([...Object.values(ga), ...Object.values(gb)]);
    }
    expect(values(a)).toEqual(values(b));
    expect(opt.iterations).toBe(4);
    expect(opt.name).toBe('partitioned(weights=sgd,steps=adam)');
    for (const o of [opt, w, s]) o.dispose();
    tf.dispose([...Object.values(a), ...Object.values(b)]);
  });

  it('restores from its state exactly (each part its own tensors), and refuses foreign state', () => {
    const a = params(2);
    const opt = makeParts();
    for (let i = 0; i < 3; i++) opt.step(a, gradsFor(a, i));
    const st = opt.state();
    expect(Object.keys(st.tensors).some((k) => k.startsWith('weights:'))).toBe(true);
    expect(Object.keys(st.tensors).some((k) => k.startsWith('steps:'))).toBe(true);
    const b = params(2);
    for (const [k, v] of Object.entries(a)) b[k]!.assign(v);
    const copy = makeParts();
    copy.loadState({ iterations: st.iterations, tensors: Object.fromEntries(Object.entries(st.tensors).map(([k, t]) => [k, t.clone()])) });
    for (let i = 3; i < 6; i++) {
      opt.step(a, gradsFor(a, i));
      copy.step(b, gradsFor(b, i));
    }
    expect(values(b)).toEqual(values(a));
    expect(() => makeParts().loadState({ iterations: 1, tensors: { 'conv/kernel/velocity': tf.zeros([1]) } })).toThrow(/belongs to none of the parts weights, steps/);
    expect(() => partitioned([{ name: 'w', select: isStep, optimizer: sgd({ lr: 1 }) }]).step(a, { 'conv/bias': tf.zeros([4]) })).toThrow(/no part selects parameter 'conv\/bias'/);
    expect(() => partitioned([])).toThrow(/at least one part/);
    // momentum at or above 1 never decays the velocity: refused
    for (const momentum of [1, 1.5, -0.1, Number.NaN]) expect(() => sgd({ lr: 0.1, momentum })).toThrow(/sgd: momentum must be in \[0, 1\), got/);
    opt.dispose();
    copy.dispose();
  });
});

describe('clipGradsByValue', () => {
  it('clips each element to [-limit, limit] and disposes the inputs', () => {
    const raw = randomArray(200).map((v) => v * 3);
    const g = { a: tf.tensor(raw, [10, 20]) };
    const before = tf.memory().numTensors;
    const out = clipGradsByValue(g, 1);
    expect(tf.memory().numTensors).toBe(before);
    expect(g.a.isDisposed).toBe(true);
    expect(Array.from(out['a']!.dataSync())).toEqual(Array.from(raw, (v) => Math.min(1, Math.max(-1, v))));
    expect(out['a']!.shape).toEqual([10, 20]);
    out['a']!.dispose();
    expect(() => clipGradsByValue({}, 0)).toThrow(/positive number, got 0/);
  });
});

describe('ExponentialMovingAverage', () => {
  it('follows avg = d·avg + (1−d)·value (float64 reference), swaps both ways, restores from state, leaks nothing', () => {
    const v = { w: tf.variable(tf.tensor([1, -2, 3]), true) };
    const start = tf.memory().numTensors;
    const ema = new ExponentialMovingAverage(v, 0.9);
    const ref = [1, -2, 3];
    for (let i = 0; i < 50; i++) {
      const next = [Math.sin(i), Math.cos(i), i / 10];
      tf.tidy(() => v.w.assign(tf.tensor(next)));
      for (let j = 0; j < 3; j++) ref[j] = 0.9 * ref[j]! + 0.1 * next[j]!;
      ema.update();
    }
    // the averages: one tensor per variable, nothing else
    expect(tf.memory().numTensors).toBe(start + 1);
    const live = Array.from(v.w.dataSync());
    ema.swap();
    expect(ema.isSwapped).toBe(true);
    for (const [j, x] of Array.from(v.w.dataSync()).entries()) expect(x).toBeCloseTo(ref[j]!, 5);
    expect(() => ema.update()).toThrow(/swapped in/);
    ema.swap();
    expect(Array.from(v.w.dataSync())).toEqual(live);
    const copy = new ExponentialMovingAverage({ w: tf.variable(tf.zeros([3]), true) }, 0.9);
    copy.loadState(ema.state());
    expect(Array.from(copy.state()['w']!.dataSync())).toEqual(Array.from(ema.state()['w']!.dataSync()));
    expect(() => copy.loadState({ x: tf.zeros([3]) })).toThrow(/missing w; unexpected x/);
    expect(() => new ExponentialMovingAverage(v, 1)).toThrow(/decay must be in \[0, 1\)/);
    ema.dispose();
    copy.dispose();
    // construct, update, swap both ways, dispose: nothing left behind
    const before = tf.memory().numTensors;
    const e2 = new ExponentialMovingAverage(v, 0.5);
    e2.update();
    e2.swap();
    e2.swap();
    e2.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
