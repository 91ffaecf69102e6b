import { initBackend, maxRelError } from '@lowbit/core';
import { type ReconstructionSnapshot, reconstruct } from '@lowbit/nwq-reconstruct';
import type { QuantizedNetwork } from '@lowbit/quantizers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundledCalibrationSet, subset } from '@lowbit/data';
import { loadReference } from '@lowbit/models/node';
import { analyze, disposeNetwork, encodeNetwork, forward, type Network } from '@lowbit/nn';
import * as tf from '@tensorflow/tfjs-core';
import { calibrationRows, type CalibrationRows, prepareRun, type PtqSettings, readCalibration } from '../src/index.js';
import { exchangeSize } from '../src/quantize/replica-types.js';
import { startQuantizeReplicas } from '../src/quantize/replicas.js';

// The workers load the built replica module (nx builds before testing) without vitest's source condition.
const module = new URL('../dist/quantize/replica.js', import.meta.url);
const execArgv: string[] = [];

function variables(q: QuantizedNetwork): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [n, l] of q.layers) for (const [i, v] of l.quantizer.variables(l.state).entries()) out.set(`w/${n}/${i}`, v.dataSync().slice() as Float32Array);
  for (const [n, s] of q.sites) for (const [i, v] of s.quantizer.variables(s.state).entries()) out.set(`a/${n}/${i}`, v.dataSync().slice() as Float32Array);
  return out;
}

const base: PtqSettings = {
  method: 'nwq',
  wBits: 2,
  aBits: 4,
  keep8bit: ['first', 'last'],
  weightGranularity: 'channel',
  weightGrid: 'symmetric',
  estimator: 'mse',
  seed: 3,
  iters: 12,
  batch: 13,
};

let net: Network;
let rows: CalibrationRows;
/** What every rank builds from: the same network, rows and settings. */
const setup = (s: PtqSettings) => prepareRun(net, calibrationRows(rows.data, rows.imageShape), s);
async function replicas(s: PtqSettings, q: QuantizedNetwork, resume: ReconstructionSnapshot | null, cacheArena?: SharedArrayBuffer) {
  const network = await encodeNetwork(net, 'replica.bin');
  return startQuantizeReplicas({ network, rows: rows.data, imageShape: rows.imageShape, settings: s, resume, ...(cacheArena ? { cacheArena } : {}) }, 2, exchangeSize(q), { module, execArgv });
}

describe('data-parallel reconstruction (lowbit ptq --threads)', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'wasm', fallback: false });
    net = loadReference('resnet-fm');
    rows = await readCalibration({ set: subset(bundledCalibrationSet(), 256) }, net.inputShape);
    // the rows the replicas read are rank 0's own (no copy)
    expect(rows.data.buffer).toBeInstanceOf(SharedArrayBuffer);
  });
  afterAll(() => disposeNetwork(net));

  for (const [label, options] of [
    ['NWQ (network-wise, ASoftmax, AMixup masks drawn per shard)', base],
    ['QDrop (block-wise, AdaRound regulariser, constant drop)', { ...base, method: 'qdrop', iters: 4 } as PtqSettings],
  ] as const) {
    it(`two threads end with the one-thread rounding variables and steps: ${label}`, async () => {
      const seq = setup(options);
      const r1 = await reconstruct({ setup: seq.q, calibration: seq.calibration, config: seq.config! });
      const par = setup(options);
      const before = variables(par.q);
      const reps = await replicas(options, par.q, null);
      try {
        reps.post(1, { kind: 'run' });
        const r2 = await reconstruct({ setup: par.q, calibration: par.calibration, config: par.config!, group: reps.group });
        expect(r2.units.length).toBe(r1.units.length);
        for (const [i, u] of r2.units.entries()) expect(Math.abs(u.finalLoss - r1.units[i]!.finalLoss) / r1.units[i]!.finalLoss, u.name).toBeLessThan(1e-4);
      } finally {
        await reps.close();
      }
      const v1 = variables(seq.q);
      const v2 = variables(par.q);
      let moved = 0;
      for (const [k, v] of v1) {
        expect(maxRelError(v2.get(k)!, v), k).toBeLessThan(1e-4);
        if (maxRelError(v, before.get(k)!) > 1e-5) moved++;
      }
      expect(moved).toBeGreaterThan(5);
      seq.q.dispose();
      par.q.dispose();
    }, 300_000);
  }

  it('a stop requested on rank 0 stops both threads at the same step; resuming on two threads ends where one uninterrupted thread does', async () => {
    const seq = setup(base);
    await reconstruct({ setup: seq.q, calibration: seq.calibration, config: seq.config! });
    const par = setup(base);
    let snapshot: ReconstructionSnapshot | null = null;
    let steps = 0;
    const first = await replicas(base, par.q, null);
    try {
      first.post(1, { kind: 'run' });
      const r = await reconstruct({
        setup: par.q,
        calibration: par.calibration,
        config: par.config!,
        group: first.group,
        progressEvery: 1,
        onProgress: () => steps++,
        shouldStop: () => steps >= 5,
        onCheckpoint: (s) => {
          snapshot = s;
        },
      });
      expect(r.stopped).toBe(true);
    } finally {
      await first.close();
    }
    expect(snapshot).not.toBeNull();
    expect(snapshot!.step).toBe(5);
    const resumed = setup(base);
    const second = await replicas(base, resumed.q, snapshot);
    try {
      second.post(1, { kind: 'run' });
      const r = await reconstruct({ setup: resumed.q, calibration: resumed.calibration, config: resumed.config!, group: second.group, resume: snapshot! });
      expect(r.stopped).toBe(false);
    } finally {
      await second.close();
    }
    const v1 = variables(seq.q);
    const v2 = variables(resumed.q);
    for (const [k, v] of v1) expect(maxRelError(v2.get(k)!, v), k).toBeLessThan(1e-4);
    seq.q.dispose();
    par.q.dispose();
    resumed.q.dispose();
  }, 300_000);

  it('two threads fill one shared float-target cache, each its share of the images, and end where one thread does', async () => {
    const seq = setup(base);
    const r1 = await reconstruct({ setup: seq.q, calibration: seq.calibration, config: seq.config! });
    const par = setup(base);
    const arena = new SharedArrayBuffer(256 * 2 ** 20);
    const reps = await replicas(base, par.q, null, arena);
    try {
      reps.post(1, { kind: 'run' });
      const r2 = await reconstruct({ setup: par.q, calibration: par.calibration, config: { ...par.config!, cacheArena: arena }, group: reps.group });
      expect(r2.notes).toEqual([]);
      expect(Math.abs(r2.units[0]!.finalLoss - r1.units[0]!.finalLoss) / r1.units[0]!.finalLoss).toBeLessThan(1e-4);
    } finally {
      await reps.close();
    }
    const v1 = variables(seq.q);
    const v2 = variables(par.q);
    for (const [k, v] of v1) expect(maxRelError(v2.get(k)!, v), k).toBeLessThan(1e-4);
    // the arena's first region holds the first block's float output of every image: the last
    // image is rank 1's, written in its thread and read here as the float forward computes it
    const info = analyze(par.q.net);
    const first = par.q.net.blocks[0]!.name;
    const row = info.nodes.get(info.blockIO.get(first)!.output)!.outShape.reduce((a, b) => a * b, 1);
    const last = rows.size - 1;
    const want = tf.tidy(() => forward(par.q.net, rows.batch(Int32Array.of(last)), { tapBlocks: true }).blocks.get(first)!.dataSync().slice()) as Float32Array;
    const got = new Float32Array(arena, last * row * 4, row);
    expect(want.length).toBe(row);
    expect(maxRelError(got, want)).toBeLessThan(1e-5);
    expect(got.some((v) => v !== 0)).toBe(true);
    seq.q.dispose();
    par.q.dispose();
  }, 300_000);
});
