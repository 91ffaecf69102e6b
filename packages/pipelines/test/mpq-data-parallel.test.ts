import * as tf from '@tensorflow/tfjs-core';
import { initBackend, maxRelError, Rng, sgd } from '@lowbit/core';
import { createScheduler } from '@lowbit/bitwidth-scheduler';
import { makeBatch } from '@lowbit/data';
import { paramMap } from '@lowbit/nn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OneShotReplicas, oneShotStepParallel, startOneShotReplicas } from '../src/mpq/data-parallel.js';
import { calib, oneShot } from './one-shot-fixtures.js';
import type { OneShotNet } from '../src/mpq/one-shot-net.js';
import { oneShotStep } from '../src/mpq/one-shot-step.js';
import { weightCandidates } from '../src/mpq/train-loop.js';

// The workers load the built replica module (nx builds before testing) without vitest's source condition.
const module = new URL('../dist/mpq/replica.js', import.meta.url);
const execArgv: string[] = [];
function state(o: OneShotNet): Map<string, Float32Array> {
  return new Map(Object.entries({ ...paramMap(o.net, 'all'), ...o.quantState() }).map(([k, v]) => [k, v.dataSync().slice() as Float32Array]));
}

describe('data-parallel one-shot training step', () => {
  let seq: OneShotNet;
  let par: OneShotNet;
  let reps: OneShotReplicas;
  beforeAll(async () => {
    await initBackend({ backend: 'wasm', fallback: false });
    seq = oneShot(2);
    par = oneShot(2);
    reps = await startOneShotReplicas(par, 2, { module, execArgv });
  }, 60_000);
  afterAll(async () => {
    await reps?.close();
    seq?.dispose();
    par?.dispose();
  });

  it('two threads give the one-thread step’s losses, weights, steps and switchable BN (4 steps, K = 3, IDM on)', () => {
    const opt = () => sgd({ lr: 0.05, momentum: 0.9, decay: (k, v) => v.rank > 1 && !k.startsWith('q/') && !k.startsWith('sbn/') });
    const [o1, o2] = [opt(), opt()];
    const [s1, s2] = [createScheduler(weightCandidates(seq)), createScheduler(weightCandidates(par))];
    const [r1, r2] = [new Rng(5), new Rng(5)];
    const before = state(seq);
    for (let s = 0; s < 4; s++) {
      const b = makeBatch(calib, Int32Array.from({ length: 33 }, (_, i) => (i * 11 + s * 3) % 1024));
      const ctx = (rng: Rng) => ({ step: s, total: 4, training: true, rng });
      const a = oneShotStep(seq, o1, b.x, b.y, { k: 3, idmWeight: 0.05, rng: r1, scheduler: s1, ctx: ctx(r1) });
      const p = oneShotStepParallel(par, o2, b.x, b.y, { k: 3, idmWeight: 0.05, rng: r2, scheduler: s2, ctx: ctx(r2) }, reps);
      for (const k of ['loss', 'ceMax', 'distill', 'idm'] as const) expect(Math.abs(p[k] - a[k]) / Math.max(1e-6, Math.abs(a[k])), k).toBeLessThan(1e-4);
      expect(a.idm).toBeGreaterThan(0);
      expect(p.correct).toBe(a.correct);
      tf.dispose([b.x, b.y]);
    }
    // the same random stream was consumed (the plan is drawn on rank 0 only)
    expect(r2.state()).toEqual(r1.state());
    const w1 = state(seq);
    const w2 = state(par);
    let moved = 0;
    for (const [k, v] of w1) {
      expect(maxRelError(w2.get(k)!, v), k).toBeLessThan(1e-4);
      if (maxRelError(v, before.get(k)!) > 1e-3) moved++;
    }
    expect(moved).toBeGreaterThan(20);
    o1.dispose();
    o2.dispose();
  });

  it('leaks no tensors over 10 data-parallel steps', () => {
    const opt = sgd({ lr: 0.01 });
    const sched = createScheduler(weightCandidates(par));
    const rng = new Rng(1);
    const b = makeBatch(calib, Int32Array.from({ length: 16 }, (_, i) => i));
    const step = () => oneShotStepParallel(par, opt, b.x, b.y, { k: 2, idmWeight: 0.01, rng, scheduler: sched, ctx: { step: 0, total: 1, training: true, rng } }, reps);
    for (let i = 0; i < 6; i++) step(); // momentum-free SGD has no lazily created state, but BN sets are created on first use
    const before = tf.memory().numTensors;
    for (let i = 0; i < 10; i++) step();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([b.x, b.y]);
    opt.dispose();
  });
});
