import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { broadcastParams, initBackend, paramGrads, ReplicaAbortedError, ReplicaGroup, replicaParamGrads, Rng } from '../src/index.js';
import { type Replicas, startReplicas } from '../src/node/index.js';
import { relErr } from './helpers.js';
// @ts-expect-error: a plain-JavaScript fixture (worker threads load it without vitest's transform)
import { lossOf, makeParams } from './fixtures/replica-fixture.mjs';

// Workers import the fixture, which imports the *built* @lowbit/core (nx runs `build` before `test`).
const fixture = new URL('./fixtures/replica-fixture.mjs', import.meta.url);
// without vitest's `--conditions @lowbit/source`, which would point the workers at TypeScript sources
const execArgv: string[] = [];

describe('ReplicaGroup in one thread', () => {
  it('a group of one sums and broadcasts to itself', () => {
    const g = new ReplicaGroup(ReplicaGroup.allocate(1, 4), 0, 1);
    const v = new Float64Array([1, 2, 3, 4, 5, 6, 7]);
    g.allReduce(v);
    g.broadcast(v);
    g.barrier();
    expect([...v]).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('rejects bad sizes and ranks', () => {
    expect(() => ReplicaGroup.allocate(0, 4)).toThrow(/positive integer/);
    expect(() => ReplicaGroup.allocate(2, 0)).toThrow(/capacity/);
    expect(() => new ReplicaGroup(ReplicaGroup.allocate(2, 4), 2, 2)).toThrow(/rank 2 is outside a group of 2/);
  });

  it('an aborted group throws on every later call, with the message', () => {
    const g = new ReplicaGroup(ReplicaGroup.allocate(2, 4), 0, 2);
    g.abort('replica 1: out of memory');
    expect(g.failure()).toBe('replica 1: out of memory');
    expect(() => g.barrier()).toThrow(ReplicaAbortedError);
    expect(() => g.allReduce(new Float64Array(2))).toThrow(/replica 1: out of memory/);
  });
});

describe('replicas in worker threads', () => {
  let reps: Replicas<Record<string, unknown>>;
  beforeAll(async () => {
    await initBackend();
    // capacity 5 forces the longer vectors through in chunks
    reps = await startReplicas({ module: fixture, size: 3, capacity: 5, init: { seed: 3 }, execArgv });
  }, 60_000);
  afterAll(async () => {
    await reps?.close();
  });

  it('all-reduce gives every rank the same rank-ordered sum, in chunks', () => {
    const n = 13;
    const mine = Float64Array.from({ length: n }, (_, i) => i + 0.25);
    const theirs = [1, 2].map((r) => Float64Array.from({ length: n }, (_, i) => r * 1000 + i * 0.5));
    reps.post(1, { kind: 'sum', values: theirs[0] });
    reps.post(2, { kind: 'sum', values: theirs[1] });
    reps.group.allReduce(mine);
    expect([...mine]).toEqual(Array.from({ length: n }, (_, i) => i + 0.25 + 1000 + i * 0.5 + 2000 + i * 0.5));
    // float32 vectors are summed in float64 and rounded once
    const f = new Float32Array([0.1, 1e8, -3]);
    reps.post(1, { kind: 'sum', values: new Float32Array([0.2, 1, 1]) });
    reps.post(2, { kind: 'sum', values: new Float32Array([0.3, 1, 1]) });
    reps.group.allReduce(f);
    expect([...f]).toEqual([Math.fround(Math.fround(0.1) + Math.fround(0.2) + Math.fround(0.3)), Math.fround(1e8 + 2), -1]);
  });

  it('data-parallel gradients over three ranks equal the whole batch’s, batch norm synchronised', () => {
    const rng = new Rng(9);
    const shape = [12, 6, 6, 2];
    const x = Float32Array.from({ length: 12 * 6 * 6 * 2 }, () => rng.normal() * 2 + 1);
    const params = makeParams(3) as Record<string, tf.Variable>;
    // reference: one process, the whole batch
    const ref = tf.tidy(() => {
      const { value, grads } = paramGrads(() => lossOf(params, tf.tensor(x, shape), 1), params);
      return { value: value.dataSync()[0]!, grads: Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, g.dataSync().slice() as Float32Array])) };
    });
    // shares of 5, 4 and 3 examples (unequal on purpose); each loss weighted by its share
    const sizes = [5, 4, 3];
    const per = 6 * 6 * 2;
    let from = sizes[0]! * per;
    for (const r of [1, 2]) {
      const n = sizes[r]!;
      reps.post(r, { kind: 'grads', x: x.slice(from, from + n * per), shape: [n, 6, 6, 2], weight: n / 12 });
      from += n * per;
    }
    const x0 = tf.tensor(x.subarray(0, sizes[0]! * per), [sizes[0]!, 6, 6, 2]);
    broadcastParams(reps.group, params);
    const dp = replicaParamGrads(reps.group, params, () => lossOf(params, x0, sizes[0]! / 12));
    expect(Math.abs(dp.value - ref.value) / Math.abs(ref.value)).toBeLessThan(1e-6);
    expect(Object.keys(dp.grads).sort()).toEqual(Object.keys(ref.grads).sort());
    for (const [k, g] of Object.entries(dp.grads)) expect(relErr(g.dataSync() as Float32Array, ref.grads[k]!), k).toBeLessThan(1e-5);
    tf.dispose([x0, ...Object.values(dp.grads), ...Object.values(params)]);
  });

  it('leaks no tensors over 20 data-parallel gradient steps', () => {
    const params = makeParams(3) as Record<string, tf.Variable>;
    const x = tf.randomNormal([4, 6, 6, 2], 0, 1, 'float32', 1);
    const xs = x.dataSync().slice();
    const step = () => {
      for (const r of [1, 2]) reps.post(r, { kind: 'grads', x: xs, shape: [4, 6, 6, 2], weight: 1 / 3 });
      broadcastParams(reps.group, params);
      tf.dispose(Object.values(replicaParamGrads(reps.group, params, () => lossOf(params, x, 1 / 3)).grads));
    };
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) step();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, ...Object.values(params)]);
  });

  it('an exception in a replica aborts the group: rank 0 throws with its message instead of waiting', async () => {
    reps.post(1, { kind: 'throw' });
    reps.post(2, { kind: 'barrier' });
    expect(() => reps.group.barrier()).toThrow(/replica 1: boom in the replica/);
  });
});

describe('startReplicas', () => {
  it('starts workers whatever the inherited module mode (node --input-type=module -e …)', async () => {
    const reps = await startReplicas({ module: fixture, size: 2, capacity: 4, init: { seed: 1 }, execArgv: ['--input-type=module'] });
    const v = new Float64Array([1, 2]);
    reps.post(1, { kind: 'sum', values: new Float64Array([10, 20]) });
    reps.group.allReduce(v);
    expect([...v]).toEqual([11, 22]);
    await reps.close();
  });


  it('a worker that dies (exits) wakes rank 0 with the reason instead of leaving it waiting', async () => {
    const reps = await startReplicas({ module: fixture, size: 3, capacity: 4, init: { seed: 1 }, execArgv });
    reps.post(1, { kind: 'exit' });
    reps.post(2, { kind: 'barrier' });
    expect(() => reps.group.barrier()).toThrow(/replica 1 exited \(code 3\)/);
    await reps.close();
  });

  it('a module without the entry export is a clear startup error', async () => {
    await expect(startReplicas({ module: fixture, exportName: 'noSuchEntry', size: 2, capacity: 4, init: {}, execArgv })).rejects.toThrow(/exports no function noSuchEntry/);
  });
});
