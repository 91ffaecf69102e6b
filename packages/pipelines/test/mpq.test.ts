import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { evalContext, initBackend, LowbitError, maxRelError, type Optimizer, paramGrads, ReplicaGroup, Rng, sgd } from '@lowbit/core';
import { crossEntropy, distillationLoss, idmLoss } from '@lowbit/info-distortion-loss';
import { createScheduler, turbulence, updateFreezing } from '@lowbit/bitwidth-scheduler';
import { makeBatch, subset } from '@lowbit/data';
import { bitOpsCost, policyFromKnobs } from '@lowbit/greedy-search';
import { disposeNetwork, forward } from '@lowbit/nn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchesOf, disposeBatches, disposeTargets, fixedBatches, policyError, preparePolicy, scoreTargets, scoreTargetsOf } from '../src/mpq/evaluate-policy.js';
import { loadOneShot, saveOneShot } from '../src/mpq/one-shot-io.js';
import { DEFAULT_CANDIDATES, type OneShotNet } from '../src/mpq/one-shot-net.js';
import { activeSiteCandidates, featureTaps, MIN_STEP, oneShotShardGrads, oneShotStep, projectSteps, samplePolicy } from '../src/mpq/one-shot-step.js';
import { checkSearchOptions, oneShotKnobs, roundIndices, searchOneShot, uniformOneShotPolicy } from '../src/mpq/search.js';
import { layerTurbulence, makeOptimizer, type MpqTrainConfig, trainingImages, trainOneShot, weightCandidates } from '../src/mpq/train-loop.js';
import { calib, oneShot, projectionSpec, tinyNet } from './one-shot-fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'lowbit-mpq-'));
beforeAll(() => initBackend({ backend: 'wasm', fallback: false }));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function snapshot(vars: Record<string, tf.Variable>): Map<string, Float32Array> {
  return new Map(Object.entries(vars).map(([k, v]) => [k, v.dataSync().slice() as Float32Array]));
}

describe('one-shot network', () => {
  it('candidates: first/last fixed at 8, depthwise from 3, input unquantized; a shared site is one activation', () => {
    const o = oneShot();
    expect(o.layers.get('stem/conv')!.candidates).toEqual([8]);
    expect(o.layers.get('head/fc')!.candidates).toEqual([8]);
    expect(o.layers.get('b1/dw')!.candidates).toEqual([3, 4, 5, 6]);
    expect(o.layers.get('b1/conv1')!.candidates).toEqual([2, 3, 4, 5, 6]);
    expect(o.sites.has('input')).toBe(false);
    expect(o.sites.get('b1/relu1')!.candidates).toEqual([3, 4, 5, 6]);
    expect(o.sites.get('head/gap')!.candidates).toEqual([8]);
    expect(o.sites.get('stem/relu')!.consumers.sort()).toEqual(['b1/conv1', 'b1/proj']);
    const max = o.maxPolicy();
    expect(max['stem/conv']).toEqual({ w: 8, a: 32 });
    expect(max['b1/conv1']).toEqual({ w: 6, a: 6 });
    // BitOps of the uniform 3-bit policy by hand: Σ w·a·MACs with first layer 8×32, last 8×8
    const u = uniformOneShotPolicy(o, 3);
    const macs = { 'stem/conv': 14 * 14 * 9 * 6, 'b1/conv1': 7 * 7 * 9 * 6 * 8, 'b1/dw': 7 * 7 * 9 * 8, 'b1/conv2': 7 * 7 * 8 * 8, 'b1/proj': 7 * 7 * 6 * 8, 'head/fc': 8 * 10 };
    const hand = 8 * 32 * macs['stem/conv'] + 9 * (macs['b1/conv1'] + macs['b1/dw'] + macs['b1/conv2'] + macs['b1/proj']) + 64 * macs['head/fc'];
    expect(bitOpsCost(o.net)(u)).toBe(hand);
    o.dispose();
  });

  it('applyPolicy switches quantizers and switchable BN; invalid policies are clear errors', () => {
    const o = oneShot();
    const x = makeBatch(calib, Int32Array.from({ length: 16 }, (_, i) => i)).x;
    const run = () => tf.tidy(() => Array.from(tf.logSoftmax(forwardLogits(o, x)).dataSync()));
    const hi = run();
    o.applyPolicy(uniformOneShotPolicy(o, 2));
    const lo = run();
    o.applyPolicy(o.maxPolicy());
    expect(run()).toEqual(hi);
    expect(Math.max(...hi.map((v, i) => Math.abs(v - lo[i]!)))).toBeGreaterThan(1e-3);
    const bad = { ...o.maxPolicy(), 'b1/proj': { w: 6, a: 5 } };
    expect(() => o.applyPolicy(bad)).toThrow(/read the same activation 'stem\/relu'/);
    expect(() => o.applyPolicy({ ...o.maxPolicy(), 'b1/dw': { w: 2, a: 6 } })).toThrow(/not a candidate/);
    expect(() => o.applyPolicy({ ...o.maxPolicy(), 'stem/conv': { w: 8, a: 8 } })).toThrow(LowbitError);
    x.dispose();
    o.dispose();
  });

  it('saves and loads exactly (weights, steps, switchable BN)', async () => {
    const o = oneShot();
    const p = join(dir, 'saved');
    await saveOneShot(o, p, { note: 'test' });
    const { oneShot: back, metadata } = loadOneShot(p);
    expect(metadata['note']).toBe('test');
    const a = snapshot({ ...o.trainable(), ...o.quantState() });
    const b = snapshot({ ...back.trainable(), ...back.quantState() });
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    for (const [k, v] of a) expect(Array.from(b.get(k)!), k).toEqual(Array.from(v));
    expect(() => loadOneShot(join(dir, 'nope'))).toThrow(/not a one-shot network/);
    back.dispose();
    o.dispose();
  });
});

/** Inference-mode logits with the selected quantizers and switchable BN set (the search's evaluation path). */
function forwardLogits(o: OneShotNet, x: tf.Tensor): tf.Tensor {
  return forward(o.net, x, o.forwardOptions({ step: 0, total: 1, training: false, rng: new Rng(0) })).output;
}

describe('one-shot training step', () => {
  it('lowers the max-bits loss, trains every candidate step, and leaks no tensors over many steps', () => {
    const o = oneShot();
    const opt = sgd({ lr: 0.05, momentum: 0.9, decay: (k, v) => v.rank > 1 && !k.startsWith('q/') && !k.startsWith('sbn/') });
    const sched = createScheduler(weightCandidates(o));
    const rng = new Rng(3);
    const b = makeBatch(calib, Int32Array.from({ length: 32 }, (_, i) => i));
    const steps0 = snapshot(o.quantState());
    const step = () => oneShotStep(o, opt, b.x, b.y, { k: 3, idmWeight: 0.01, rng, scheduler: sched, ctx: { step: 0, total: 1, training: true, rng } });
    // Momentum buffers appear lazily, the first time a switchable-BN set is sampled: count them apart.
    const live = () => tf.memory().numTensors - Object.keys(opt.state().tensors).length;
    const first = step();
    const n0 = live();
    let last = first;
    let idm = first.idm;
    for (let i = 0; i < 12; i++) {
      last = step();
      idm += last.idm;
    }
    expect(live()).toBe(n0);
    expect(last.ceMax).toBeLessThan(first.ceMax);
    expect(idm).toBeGreaterThan(0);
    const after = snapshot(o.quantState());
    // random policies reach every candidate of a 5-candidate layer in 13·3 draws with overwhelming probability
    for (const b2 of [2, 3, 4, 5, 6]) expect(Array.from(after.get(`q/w/b1/conv1/${b2}`)!)).not.toEqual(Array.from(steps0.get(`q/w/b1/conv1/${b2}`)!));
    // switchable BN: the max-bits set of conv1 was trained
    expect(Array.from(after.get('sbn/b1/bn1/w6a6/gamma')!)).not.toEqual(Array.from(steps0.get('sbn/b1/bn1/w6a6/gamma')!));
    // sampling draws only active candidates
    const frozen = { candidates: sched.candidates, frozen: { 'b1/conv1': [2] } };
    for (let i = 0; i < 50; i++) expect(samplePolicy(o, frozen, rng)['b1/conv1']!.w).not.toBe(2);
    tf.dispose([b.x, b.y]);
    opt.dispose();
    o.dispose();
  });
});

describe('step projection', () => {
  it('keeps every quantizer step ≥ MIN_STEP after an update and leaves other parameters alone', () => {
    const o = oneShot();
    const params = o.trainable();
    const key = 'q/w/b1/dw/3';
    tf.tidy(() => params[key]!.assign(tf.neg(params[key]!)));
    const kernel = params['b1/dw/kernel']!.dataSync().slice();
    tf.tidy(() => params['b1/dw/kernel']!.assign(tf.sub(params['b1/dw/kernel']!, 10)));
    projectSteps(params);
    expect(Math.min(...params[key]!.dataSync())).toBe(Math.fround(MIN_STEP));
    expect(Array.from(params['b1/dw/kernel']!.dataSync())).toEqual(Array.from(kernel, (v) => Math.fround(v - 10)));
    o.dispose();
  });
});

describe('one-shot step gradients', () => {
  it('per-pass tapes sum to the gradient of the whole loss in one tape (teacher detached) to 1e-5', () => {
    const o = oneShot(4);
    const sched = createScheduler(weightCandidates(o));
    const b = makeBatch(calib, Int32Array.from({ length: 16 }, (_, i) => 100 + i));
    const params = o.trainable();
    // (a) the step, with an optimiser that records the gradients instead of applying them
    let recorded: Record<string, Float32Array> = {};
    const recorder: Optimizer = {
      name: 'record',
      iterations: 0,
      step: (_p, g) => {
        recorded = Object.fromEntries(Object.entries(g).map(([k, v]) => [k, v.dataSync().slice() as Float32Array]));
      },
      learningRate: () => 0,
      state: () => ({ iterations: 0, tensors: {} }),
      loadState: () => {},
      dispose: () => {},
    };
    oneShotStep(o, recorder, b.x, b.y, { k: 3, idmWeight: 0.05, rng: new Rng(9), scheduler: sched, ctx: { step: 0, total: 1, training: true, rng: new Rng(0) } });
    // (b) the same loss in one tape: same policies (same seed), teacher outputs detached
    const rng = new Rng(9);
    const policies = [0, 1, 2].map(() => samplePolicy(o, sched, rng));
    const lowest = new Map([...o.layers.values()].filter((l) => l.candidates.length > 1).map((l) => [l.name, l.candidates[0]!]));
    const joint = tf.tidy(() => {
      const { grads } = paramGrads(() => {
        const opts = o.forwardOptions({ step: 0, total: 1, training: true, rng: new Rng(0) });
        o.applyPolicy(o.maxPolicy());
        const feats = [...lowest.keys()].map((l) => o.featureNode(l));
        const t = forward(o.net, b.x, { ...opts, training: true, ...featureTaps(feats) });
        let loss = crossEntropy(t.output, b.y);
        for (const p of policies) {
          o.applyPolicy(p);
          const low = [...lowest].filter(([l, bits]) => p[l]!.w === bits).map(([l]) => o.featureNode(l));
          const st = forward(o.net, b.x, { ...opts, training: true, ...featureTaps(low) });
          loss = tf.add(loss, distillationLoss(st.output, t.output, b.y)) as tf.Scalar;
          if (low.length) loss = tf.add(loss, idmLoss(st.nodes, t.nodes, low, { weight: 0.05 })) as tf.Scalar;
        }
        o.applyPolicy(o.maxPolicy());
        return loss;
      }, params);
      return Object.fromEntries(Object.entries(grads).map(([k, v]) => [k, v.dataSync().slice() as Float32Array]));
    });
    expect(Object.keys(recorded).sort()).toEqual(Object.keys(joint).sort());
    for (const [k, g] of Object.entries(joint)) expect(maxRelError(recorded[k]!, g), k).toBeLessThan(1e-5);
    tf.dispose([b.x, b.y]);
    o.dispose();
  });
});

describe('bit-width scheduler in the one-shot loop', () => {
  it('turbulence averages over the active candidates: a frozen layer\'s lowest grid does not count', () => {
    const o = oneShot(2);
    const all = layerTurbulence(o, 0.125);
    const layer = [...o.layers.values()].find((l) => l.candidates.length > 2)!;
    const frozen = updateFreezing(createScheduler(weightCandidates(o)), all, 0);
    frozen.frozen[layer.name] = [layer.candidates[0]!];
    const active = layerTurbulence(o, 0.125, frozen);
    const grid = (b: number) => ({ bits: b, step: layer.state.scales[b]!, qmin: layer.state.grids[b]!.qmin, qmax: layer.state.grids[b]!.qmax });
    const w = o.net.params[layer.name]!['kernel']!;
    expect(active[layer.name]).toBeCloseTo(turbulence(w, layer.candidates.slice(1).map(grid), 0.125), 12);
    expect(all[layer.name]).toBeCloseTo(turbulence(w, layer.candidates.map(grid), 0.125), 12);
    expect(Math.abs(active[layer.name]! - all[layer.name]!)).toBeGreaterThan(1e-6);
    for (const k of Object.keys(all)) if (k !== layer.name) expect(active[k]).toBe(all[k]);
    o.dispose();
  });

  it('with freezeActivations, a frozen layer\'s input site never draws its lowest activation bits; without, it does', () => {
    const o = oneShot(2);
    const layer = [...o.layers.values()].find((l) => l.candidates.length > 2 && o.sites.has(l.site))!;
    const site = o.sites.get(layer.site)!;
    const sched = createScheduler(weightCandidates(o));
    sched.frozen[layer.name] = [layer.candidates[0]!];
    expect(activeSiteCandidates(o, sched, true).get(site.name)).toEqual(site.candidates.slice(1));
    expect(activeSiteCandidates(o, sched, false).get(site.name)).toEqual(site.candidates);
    const draws = (freeze: boolean) => {
      const rng = new Rng(5);
      return Array.from({ length: 200 }, () => samplePolicy(o, sched, rng, freeze)[layer.name]!);
    };
    const lowW = layer.candidates[0]!;
    const lowA = site.candidates[0]!;
    expect(draws(true).some((b) => b.a === lowA || b.w === lowW)).toBe(false);
    expect(draws(false).some((b) => b.a === lowA)).toBe(true);
    // other sites keep every candidate
    const other = [...o.sites.values()].find((s) => s.candidates.length > 1 && !s.consumers.includes(layer.name))!;
    expect(activeSiteCandidates(o, sched, true).get(other.name)).toEqual(other.candidates);
    o.dispose();
  });
});

describe('IDM features', () => {
  it('are BN outputs before any quantizer: where a BN output is an activation site, IDM leaves that site\'s steps alone', () => {
    const o = oneShot(4, projectionSpec());
    expect(o.featureNode('b1/project')).toBe('b1/pbn');
    expect(o.sites.has('b1/pbn')).toBe(true);
    const low = o.layers.get('b1/project')!.candidates[0]!;
    const p = { ...o.maxPolicy(), 'b1/project': { ...o.maxPolicy()['b1/project']!, w: low } };
    const b = makeBatch(calib, Int32Array.from({ length: 16 }, (_, i) => 200 + i));
    const run = (idmWeight: number) => {
      const r = oneShotShardGrads(o, ReplicaGroup.solo(), b.x, b.y, 1, { policies: [p], lowest: [['b1/project', low]], idmWeight }, { step: 0, total: 1, training: true, rng: new Rng(0) });
      const g = Object.fromEntries(Object.entries(r.grads).map(([k, v]) => [k, v.dataSync().slice() as Float32Array]));
      tf.dispose(Object.values(r.grads));
      return { g, idm: r.idm };
    };
    const without = run(0);
    const withIdm = run(10);
    expect(withIdm.idm).toBeGreaterThan(0);
    // the IDM term trains the layer that made the feature…
    expect(maxRelError(withIdm.g['b1/project/kernel']!, without.g['b1/project/kernel']!)).toBeGreaterThan(1e-3);
    // …and not the quantizer that reads it
    const siteSteps = Object.keys(without.g).filter((k) => k.startsWith('q/a/b1/pbn/'));
    expect(siteSteps.length).toBeGreaterThan(0);
    for (const k of siteSteps) expect(maxRelError(withIdm.g[k]!, without.g[k]!), k).toBeLessThan(1e-6);
    tf.dispose([b.x, b.y]);
    o.dispose();
  });
});

/** A short one-shot training config on the tiny network (the loop and recipe tests vary it). */
const TRAIN_CONFIG: MpqTrainConfig = {
  model: 'tiny',
  epochs: 2,
  stepsPerEpoch: 0,
  batchSize: 16,
  lr: 0.02,
  momentum: 0.9,
  weightDecay: 5e-5,
  seed: 5,
  k: 2,
  idmWeight: 0.01,
  scheduler: true,
  schedulerPeriod: 4,
  freezeStart: 0.5,
  freezeEnd: 0.2,
  turbulenceThreshold: 0.125,
  candidates: DEFAULT_CANDIDATES,
  cropPadding: 2,
  flip: true,
  calibImages: 64,
  checkpointEvery: 5,
  data: 'bundled',
};

describe('one-shot training loop', () => {
  const train = subset(calib, 96);
  const config = TRAIN_CONFIG;

  it('a run stopped mid-epoch and resumed ends with exactly the weights of an uninterrupted run', async () => {
    const float = tinyNet(2);
    const full = await trainOneShot({ config, float, train, calib, outDir: join(dir, 'full'), resume: false });
    expect(full.step).toBe(12);
    let n = 0;
    const part = await trainOneShot({ config, float, train, calib, outDir: join(dir, 'part'), resume: false, callbacks: { shouldStop: () => n++ >= 7 } });
    expect(part.stopped).toBe(true);
    // the stop saved its own step (the periodic checkpoint was at step 5): --resume continues from step 7
    expect(part.step).toBe(7);
    expect(JSON.parse(readFileSync(join(dir, 'part', 'checkpoints', 'latest.json'), 'utf8'))).toMatchObject({ checkpoint: 'step-00000007' });
    part.oneShot.dispose();
    const resumed = await trainOneShot({ config, float, train, calib, outDir: join(dir, 'part'), resume: true });
    expect(resumed.step).toBe(12);
    const a = snapshot({ ...full.oneShot.trainable(), ...full.oneShot.quantState() });
    const b = snapshot({ ...resumed.oneShot.trainable(), ...resumed.oneShot.quantState() });
    for (const [k, v] of a) expect(Array.from(b.get(k)!), k).toEqual(Array.from(v));
    const state = JSON.parse(readFileSync(join(dir, 'part', 'checkpoints', 'epoch-0002', 'state.json'), 'utf8'));
    expect(state.mpq.frozenHistory.length).toBe(2);
    await expect(trainOneShot({ config: { ...config, seed: 6 }, float, train, calib, outDir: join(dir, 'part'), resume: true })).rejects.toThrow(/--seed/);
    full.oneShot.dispose();
    resumed.oneShot.dispose();
    disposeNetwork(float);
  });
});

describe('one-shot training recipe', () => {
  const train = subset(calib, 48);
  const base: MpqTrainConfig = { ...TRAIN_CONFIG, stepsPerEpoch: 6, batchSize: 8 };
  const recipe: MpqTrainConfig = { ...base, warmupEpochs: 0.5, lrMin: 1e-3, stepLr: 1e-3, clipValue: 0.05, emaDecay: 0.5, freezeActivations: true };

  it('an AbortSignal stops the loop after the current step, like shouldStop', async () => {
    const float = tinyNet(2);
    const controller = new AbortController();
    const r = await trainOneShot({ config: base, float, train, calib, outDir: join(dir, 'abort'), resume: false, signal: controller.signal, callbacks: { onStep: (s) => void (s.step === 3 && controller.abort()) } });
    expect(r.stopped).toBe(true);
    expect(r.step).toBe(3);
    r.oneShot.dispose();
    disposeNetwork(float);
  });

  it('holdOut: training leaves the first images out — the same weights as training on the rest, different from training on all', async () => {
    const float = tinyNet(2);
    const rest = trainingImages(train, 16);
    expect(rest.size).toBe(32);
    expect(Array.from(rest.labels)).toEqual(Array.from(train.labels.subarray(16)));
    expect(Array.from(rest.images.subarray(0, 784))).toEqual(Array.from(train.images.subarray(16 * 784, 17 * 784)));
    const cfg = { ...base, stepsPerEpoch: 3 };
    const held = await trainOneShot({ config: { ...cfg, holdOut: 16 }, float, train, calib, outDir: join(dir, 'holdout'), resume: false });
    const same = await trainOneShot({ config: cfg, float, train: rest, calib, outDir: join(dir, 'holdout-rest'), resume: false });
    const all = await trainOneShot({ config: cfg, float, train, calib, outDir: join(dir, 'holdout-all'), resume: false });
    const [a, b, c] = [held, same, all].map((r) => snapshot({ ...r.oneShot.trainable(), ...r.oneShot.quantState() }));
    for (const [k, v] of a!) expect(Array.from(b!.get(k)!), k).toEqual(Array.from(v));
    expect([...a!].some(([k, v]) => v.some((x, i) => x !== c!.get(k)![i]))).toBe(true);
    // a resume must hold out the same images
    await expect(trainOneShot({ config: cfg, float, train, calib, outDir: join(dir, 'holdout'), resume: true })).rejects.toThrow(/--hold-out is off here but 16 in the checkpoint/);
    expect(() => trainingImages(train, 48)).toThrow(/holdOut 48 leaves none of the 48 training images of .* to train on/);
    expect(() => trainingImages(train, -1)).toThrow(/holdOut must be an integer ≥ 0/);
    for (const r of [held, same, all]) r.oneShot.dispose();
    disposeNetwork(float);
  });

  it('learning rate: linear warm-up to the peak, then cosine down to the floor', () => {
    const opt = makeOptimizer(recipe, 12, 6);
    const lrs: number[] = [];
    const p = { 'c/kernel': tf.variable(tf.zeros([1, 1, 1, 1])), 'q/w/c/4': tf.variable(tf.ones([1])) };
    for (let i = 0; i < 12; i++) {
      lrs.push(opt.learningRate());
      opt.step(p, { 'c/kernel': tf.zeros([1, 1, 1, 1]), 'q/w/c/4': tf.zeros([1]) });
    }
    expect(lrs.slice(0, 3)).toEqual([0.02 / 3, (2 * 0.02) / 3, 0.02]);
    expect(lrs[3]).toBeCloseTo(0.02, 12);
    expect(lrs[11]).toBeCloseTo(1e-3, 12);
    for (let i = 4; i < 12; i++) expect(lrs[i]!).toBeLessThan(lrs[i - 1]!);
    expect(opt.name).toBe('partitioned(weights=sgd,steps=adam)');
    opt.dispose();
    tf.dispose(Object.values(p));
  });

  it('with warm-up, floor, Adam steps, clipping, EMA and activation freezing: stopped and resumed = uninterrupted; the result holds the EMA', async () => {
    const float = tinyNet(2);
    const run = (config: MpqTrainConfig, out: string, extra: Partial<Parameters<typeof trainOneShot>[0]> = {}) => trainOneShot({ config, float, train, calib, outDir: join(dir, out), resume: false, ...extra });
    const full = await run(recipe, 'recipe-full');
    let n = 0;
    const part = await run(recipe, 'recipe-part', { callbacks: { shouldStop: () => n++ >= 7 } });
    expect(part.stopped).toBe(true);
    part.oneShot.dispose();
    const resumed = await run(recipe, 'recipe-part', { resume: true });
    const all = (r: { oneShot: OneShotNet }) => snapshot({ ...r.oneShot.trainable(), ...r.oneShot.quantState() });
    const a = all(full);
    const b = all(resumed);
    for (const [k, v] of a) expect(Array.from(b.get(k)!), k).toEqual(Array.from(v));
    await expect(run({ ...recipe, emaDecay: 0.9 }, 'recipe-part', { resume: true })).rejects.toThrow(/--ema is 0\.9 here but 0\.5 in the checkpoint/);
    await expect(run({ ...recipe, freezeActivations: false }, 'recipe-part', { resume: true })).rejects.toThrow(/--freeze-abits is off here but on in the checkpoint/);
    // every setting that changes the result is checked, named by its flag (a different --lr or --k was silently replaced by the checkpoint's)
    await expect(run({ ...recipe, lr: recipe.lr * 2 }, 'recipe-part', { resume: true })).rejects.toThrow(new RegExp(`--lr is ${recipe.lr * 2} here but ${recipe.lr} in the checkpoint`));
    await expect(run({ ...recipe, k: recipe.k + 1 }, 'recipe-part', { resume: true })).rejects.toThrow(new RegExp(`--k is ${recipe.k + 1} here but ${recipe.k} in the checkpoint`));
    await expect(run({ ...recipe, batchSize: recipe.batchSize + 1 }, 'recipe-part', { resume: true })).rejects.toThrow(/--batch is \d+ here but \d+ in the checkpoint/);
    await expect(run({ ...recipe, candidates: { ...recipe.candidates, bits: [2, 4] } }, 'recipe-part', { resume: true })).rejects.toThrow(/--bits is \{.*\} here but \{.*\} in the checkpoint/);
    const state = JSON.parse(readFileSync(join(dir, 'recipe-part', 'checkpoints', 'epoch-0002', 'state.json'), 'utf8'));
    expect(state.extra.some((e: { name: string }) => e.name.startsWith('ema/'))).toBe(true);
    expect(state.optimizer.name).toBe('partitioned(weights=sgd,steps=adam)');
    // EMA decay 0 averages nothing: the same weights as no EMA; decay 0.5 returns other weights
    const noEma = await run({ ...recipe, emaDecay: undefined }, 'recipe-no-ema');
    const ema0 = await run({ ...recipe, emaDecay: 0 }, 'recipe-ema0');
    const c = all(noEma);
    for (const [k, v] of all(ema0)) expect(Array.from(v), k).toEqual(Array.from(c.get(k)!));
    const kernel = [...a.keys()].find((k) => k.endsWith('/kernel'))!;
    expect(maxRelError(a.get(kernel)!, c.get(kernel)!)).toBeGreaterThan(1e-4);
    for (const r of [full, resumed, noEma, ema0]) r.oneShot.dispose();
    disposeNetwork(float);
  });
});

describe('policy search on the one-shot network', () => {
  it('finds a policy within the uniform 3-bit BitOps whose held-out error is no worse than the uniform policy; deterministic', async () => {
    const o = oneShot();
    const search = () => searchOneShot(o, { budget: { kind: 'avg-bits', bits: 3 }, calib, bnImages: 64, scoreImages: 64, phases: 'weights-then-activations', allowRaise: false });
    const s = await search();
    const uniform = uniformOneShotPolicy(o, 3);
    expect(s.result.cost).toBeLessThanOrEqual(s.cost(uniform));
    expect(s.knobs.filter((k) => k.candidates.length > 1).length).toBe(4 + 3);
    const bn = fixedBatches(calib, 0, 64);
    const score = fixedBatches(calib, calib.size - 64, 64);
    const teacher = scoreTargets(o, 'kl', calib, calib.size - 64, 64, bn, score);
    const eSearch = policyError(o, s.result.policy, bn, score, teacher);
    const eUniform = policyError(o, uniform, bn, score, teacher);
    // KL of the max-bits policy from itself is 0
    expect(Math.abs(policyError(o, o.maxPolicy(), bn, score, teacher))).toBeLessThan(1e-6);
    expect(eSearch).toBeCloseTo(s.result.error, 5);
    expect(eSearch).toBeLessThanOrEqual(eUniform + 1e-9);
    // without validation images every uniform policy within the budget is a reference of the search: none scores lower
    for (const r of s.rivals) expect(eSearch).toBeLessThanOrEqual(policyError(o, r.policy, bn, score, teacher) + 1e-9);
    expect(s.result.chosen).toMatch(/^(search|uniform W\dA\d)$/);
    if (s.result.chosen !== 'search') expect(s.result.policy).toEqual(s.rivals.find((r) => `uniform ${r.name}` === s.result.chosen)!.policy);
    const again = await search();
    expect(again.result.trace).toEqual(s.result.trace);
    await expect(searchOneShot(o, { budget: { kind: 'bitops', bitOps: 1000 }, calib, bnImages: 64, scoreImages: 64, phases: 'joint', allowRaise: false })).rejects.toThrow(LowbitError);
    expect(oneShotKnobs(o).find((k) => k.id === 'a:stem/relu')!.layers.sort()).toEqual(['b1/conv1', 'b1/proj']);
    disposeBatches(bn);
    disposeBatches(score);
    disposeTargets(teacher);
    o.dispose();
  });

  it('with validation images, the end point and the uniform policy are compared on images the search never used', async () => {
    const o = oneShot();
    const opts = { budget: { kind: 'avg-bits', bits: 3 } as const, calib, bnImages: 32, scoreImages: 64, validateImages: 96, criterion: 'ce' as const, phases: 'weights-then-activations' as const, allowRaise: false };
    const s = await searchOneShot(o, opts);
    const v = s.validation!;
    expect(v.images).toBe(96);
    // the validation images are 32..127: BN re-estimated on them, cross-entropy with their labels
    const vb = fixedBatches(calib, 32, 96);
    const vt = scoreTargets(o, 'ce', calib, 32, 96, vb, vb);
    expect(policyError(o, v.searchPolicy, vb, vb, vt)).toBeCloseTo(v.search, 6);
    // every uniform WbAb within the budget is a rival (W3A3 defines it; W3A2, W2A3, … fit under it), each scored on the same images
    const budget = s.cost(uniformOneShotPolicy(o, 3));
    const fitting = o.config.bits.flatMap((w) => o.config.bits.map((a) => ({ w, a }))).filter(({ w, a }) => s.cost(uniformOneShotPolicy(o, w, a)) <= budget);
    expect(s.rivals.map((r) => r.name).sort()).toEqual(fitting.map(({ w, a }) => `W${w}A${a}`).sort());
    expect(s.rivals.map((r) => r.name)).toContain('W3A3');
    for (const r of s.rivals) expect(policyError(o, r.policy, vb, vb, vt)).toBeCloseTo(v.rivals[r.name]!, 6);
    expect(v.uniform).toBe(Math.min(...Object.values(v.rivals)));
    expect(v.rivals[v.uniformPolicy]).toBe(v.uniform);
    const best = s.rivals.find((r) => r.name === v.uniformPolicy)!;
    expect(s.result.chosen).toBe(v.uniform < v.search ? `uniform ${v.uniformPolicy}` : 'search');
    expect(s.result.policy).toEqual(v.uniform < v.search ? best.policy : v.searchPolicy);
    disposeBatches(vb);
    disposeTargets(vt);
    await expect(searchOneShot(o, { ...opts, validateImages: calib.size })).rejects.toThrow(/needs .* calibration images \(BN re-estimation 32, validation/);
    // the same checks, up front and without a tensor made (a CLI runs them before making its output folder)
    const tensors = tf.memory().numTensors;
    expect(() => checkSearchOptions(o, { ...opts, validateImages: calib.size })).toThrow(/needs .* calibration images \(BN re-estimation 32, validation/);
    expect(() => checkSearchOptions(o, { ...opts, maxBits: 1 })).toThrow(/none within the limits/);
    expect(() => checkSearchOptions(o, { ...opts, resample: { set: calib, skip: calib.size - 10 } })).toThrow(/--resample draws --score-images 64 from the 10 images of .* after the first \d+ \(the validation images\)/);
    expect(() => checkSearchOptions(o, opts)).not.toThrow();
    expect(tf.memory().numTensors).toBe(tensors);
    o.dispose();
  });

  it("criterion 'error' is the top-1 error with the labels; resampled rounds score each step on a fresh seeded batch; start/floor limit the knobs", async () => {
    const o = oneShot();
    const idx = Int32Array.from({ length: 80 }, (_, i) => 3 * i);
    const xs = batchesOf(calib, idx, 32);
    const t = scoreTargetsOf(o, 'error', calib, idx, xs, xs, 32);
    const uniform = uniformOneShotPolicy(o, 3);
    const e = policyError(o, uniform, xs, xs, t);
    preparePolicy(o, uniform, xs);
    const opts = o.forwardOptions(evalContext(new Rng(0)));
    let wrong = 0;
    xs.forEach((x, b) => {
      const pred = tf.tidy(() => tf.argMax(forward(o.net, x, opts).output, 1)).arraySync() as number[];
      pred.forEach((p, i) => {
        if (p !== calib.labels[idx[b * 32 + i]!]) wrong++;
      });
    });
    expect(e).toBe(wrong / 80);
    disposeBatches(xs);
    disposeTargets(t);
    // rounds: distinct seeded draws, reproducible
    const r1 = roundIndices(1000, 50, 7, 1);
    expect(new Set(r1).size).toBe(50);
    expect(Array.from(roundIndices(1000, 50, 7, 1))).toEqual(Array.from(r1));
    expect(Array.from(roundIndices(1000, 50, 7, 2))).not.toEqual(Array.from(r1));
    // a resampled search: every trace step's error is the error of the policy after the move on that round's batch
    const before = tf.memory().numTensors;
    const opts2 = { budget: { kind: 'avg-bits', bits: 4 } as const, calib, bnImages: 0, scoreImages: 64, criterion: 'error' as const, phases: 'weights-then-activations' as const, allowRaise: false, fill: false, resample: { set: calib, seed: 3 }, maxBits: 5, minBits: 3, noiseFloor: true };
    const s = await searchOneShot(o, opts2);
    expect(tf.memory().numTensors).toBe(before);
    expect(s.result.cost).toBeLessThanOrEqual(s.budgetValue);
    // rounds: the start, one per step, one for the comparison with the uniform reference
    expect(new Set(s.result.evaluated.map((p) => p.round)).size).toBe(s.result.trace.length + 2);
    const setting: Record<string, number> = Object.fromEntries(s.knobs.map((k) => [k.id, k.candidates[k.candidates.length - 1]!]));
    for (const [i, step] of s.result.trace.entries()) {
      setting[step.knob] = step.to;
      const ri = roundIndices(calib.size, 64, 3, i + 1);
      const b = batchesOf(calib, ri);
      const tt = scoreTargetsOf(o, 'error', calib, ri, b, b);
      expect(policyError(o, policyFromKnobs(s.knobs, setting), b, b, tt), `step ${i + 1}`).toBe(step.error);
      disposeBatches(b);
      disposeTargets(tt);
    }
    // start at 5 bits and never below 3: every searchable knob within 3..5
    for (const k of s.knobs) if (k.candidates.length > 1) expect(Math.min(...k.candidates) >= 3 && Math.max(...k.candidates) <= 5).toBe(true);
    for (const [layer, b] of Object.entries(s.result.policy)) if (o.layers.get(layer)!.candidates.length > 1) expect(b.w).toBeGreaterThanOrEqual(3);
    expect(s.result.start.cost).toBe(s.cost(uniformOneShotPolicy(o, 5)));
    await expect(searchOneShot(o, { ...opts2, criterion: 'kl', resample: undefined, bnImages: 64, validateImages: 0 })).rejects.toThrow(/noise floor needs the 'error' criterion/);
    await expect(searchOneShot(o, { ...opts2, minBits: 6 })).rejects.toThrow(/lowest bits \(6, --min-bits\) are above the highest \(5, --max-bits\)/);
    o.dispose();
  });

  it("criterion 'ce' is the cross-entropy with the labels; with bnOnScore the search re-estimates BN on the scored images", async () => {
    const o = oneShot();
    const from = calib.size - 96;
    const score = fixedBatches(calib, from, 96, 64); // two batches: 64 + 32
    const ce = scoreTargets(o, 'ce', calib, from, 96, score, score, 64);
    const uniform = uniformOneShotPolicy(o, 3);
    const e = policyError(o, uniform, score, score, ce);
    // by hand: −mean log q[label] with the same BN statistics
    preparePolicy(o, uniform, score);
    const opts = o.forwardOptions(evalContext(new Rng(0)));
    let sum = 0;
    score.forEach((x, b) => {
      const logq = tf.tidy(() => tf.logSoftmax(forward(o.net, x, opts).output)).arraySync() as number[][];
      logq.forEach((row, i) => {
        sum -= row[calib.labels[from + b * 64 + i]!]!;
      });
    });
    expect(e).toBeCloseTo(sum / 96, 4);
    const before = tf.memory().numTensors;
    const s = await searchOneShot(o, { budget: { kind: 'avg-bits', bits: 3 }, calib, bnImages: 1, scoreImages: 96, bnOnScore: true, criterion: 'ce', phases: 'weights-then-activations', allowRaise: false });
    expect(tf.memory().numTensors).toBe(before);
    const s128 = fixedBatches(calib, from, 96);
    const ce128 = scoreTargets(o, 'ce', calib, from, 96, s128, s128);
    expect(policyError(o, s.result.policy, s128, s128, ce128)).toBeCloseTo(s.result.error, 5);
    expect(s.result.error).toBeLessThanOrEqual(policyError(o, uniform, s128, s128, ce128) + 1e-9);
    disposeBatches(score);
    disposeBatches(s128);
    disposeTargets(ce);
    disposeTargets(ce128);
    o.dispose();
  });
});

