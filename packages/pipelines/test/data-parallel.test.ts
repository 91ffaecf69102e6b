import * as tf from '@tensorflow/tfjs-core';
import { initBackend, maxRelError, ReplicaGroup, sgd } from '@lowbit/core';
import { bundledCalibrationSet, makeBatch, subset } from '@lowbit/data';
import { referenceSpec } from '@lowbit/models';
import { createNetwork, disposeNetwork, type Network, paramMap } from '@lowbit/nn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postShards, shardRange, startTrainReplicas, type TrainReplicas, trainStepParallel } from '../src/train/data-parallel.js';
import { shardGrads, trainStep } from '../src/train/step.js';

// The workers load the built replica module (nx builds before testing) without vitest's source condition.
const module = new URL('../dist/train/replica.js', import.meta.url);
const execArgv: string[] = [];

function weights(net: Network): Map<string, Float32Array> {
  return new Map(Object.entries(paramMap(net, 'all')).map(([k, v]) => [k, v.dataSync().slice() as Float32Array]));
}

describe('data-parallel training step', () => {
  const train = subset(bundledCalibrationSet(), 64);
  let seq: Network;
  let par: Network;
  let reps: TrainReplicas;
  beforeAll(async () => {
    await initBackend({ backend: 'wasm', fallback: false });
    seq = createNetwork(referenceSpec('resnet-fm'), { seed: 4 });
    par = createNetwork(referenceSpec('resnet-fm'), { seed: 4 });
    reps = await startTrainReplicas(par, 2, { module, execArgv });
  }, 60_000);
  afterAll(async () => {
    await reps?.close();
    disposeNetwork(seq);
    disposeNetwork(par);
  });

  it('splits a batch into contiguous shares covering it', () => {
    expect([0, 1, 2].map((r) => shardRange(10, r, 3))).toEqual([[0, 3], [3, 6], [6, 10]]);
  });

  it('two threads give the one-thread step’s loss, accuracy and gradients at 5 states, and its update (≤ 1e-5 loss, ≤ 1e-3 gradients)', () => {
    // Each step is compared from the same weights: over several steps the two runs drift apart
    // by float rounding (a ReLU input that rounds to the other side of 0 changes the gradient by
    // a finite amount), so comparing trajectories would measure chaos, not the step.
    const o1 = sgd({ lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 5e-4 });
    for (let s = 0; s < 5; s++) {
      // 27 images: the shares are unequal (13 / 14)
      const b = makeBatch(train, Int32Array.from({ length: 27 }, (_, i) => (i * 7 + s * 5) % 64));
      tf.tidy(() => {
        const r1 = shardGrads(ReplicaGroup.solo(), seq, b.x, b.y, 1);
        const own = postShards(reps, b.x, b.y, {});
        const r2 = shardGrads(reps.group, par, own.x, own.labels, own.weight);
        expect(Math.abs(r2.loss - r1.loss) / r1.loss, `step ${s} loss`).toBeLessThan(1e-5);
        expect(r2.correct).toBe(r1.correct);
        for (const k of Object.keys(r1.grads)) expect(maxRelError(r2.grads[k]!.dataSync() as Float32Array, r1.grads[k]!.dataSync() as Float32Array), `step ${s} ${k}`).toBeLessThan(1e-3);
        o1.step(paramMap(seq), r1.grads);
      });
      // the next state is the same on both
      for (const [k, v] of Object.entries(paramMap(par, 'all'))) v.assign(paramMap(seq, 'all')[k]!);
      tf.dispose([b.x, b.y]);
    }
    // one whole parallel step (shares, sums, optimiser) from the same weights and a fresh optimiser each
    const s1 = sgd({ lr: 0.05, momentum: 0.9 });
    const s2 = sgd({ lr: 0.05, momentum: 0.9 });
    const before = weights(seq);
    const b = makeBatch(train, Int32Array.from({ length: 27 }, (_, i) => (i * 3 + 1) % 64));
    const r1 = trainStep(seq, s1, b.x, b.y);
    const r2 = trainStepParallel(par, s2, b.x, b.y, reps);
    expect(Math.abs(r2.loss - r1.loss) / r1.loss).toBeLessThan(1e-5);
    const w1 = weights(seq);
    const w2 = weights(par);
    for (const [k, v] of w1) {
      expect(maxRelError(w2.get(k)!, v), k).toBeLessThan(1e-5);
      if (!k.endsWith('kernel')) continue;
      // the update itself, not only the weights (which barely move in a step)
      const d1 = v.map((x, i) => x - before.get(k)![i]!);
      const d2 = w2.get(k)!.map((x, i) => x - before.get(k)![i]!);
      expect(maxRelError(d2, d1), `update of ${k}`).toBeLessThan(1e-3);
    }
    tf.dispose([b.x, b.y]);
    o1.dispose();
    s1.dispose();
    s2.dispose();
  });

  it('leaks no tensors over 20 data-parallel steps', () => {
    const opt = sgd({ lr: 0.01, momentum: 0.9 });
    const b = makeBatch(train, Int32Array.from({ length: 16 }, (_, i) => i));
    trainStepParallel(par, opt, b.x, b.y, reps);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) trainStepParallel(par, opt, b.x, b.y, reps);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([b.x, b.y]);
    opt.dispose();
  });

  it('refuses a batch smaller than the thread count', () => {
    const opt = sgd({ lr: 0.01 });
    const b = makeBatch(train, Int32Array.from([0]));
    expect(() => trainStepParallel(par, opt, b.x, b.y, reps)).toThrow(/batch of 1 cannot be split over 2 threads/);
    tf.dispose([b.x, b.y]);
    opt.dispose();
  });
});
