import { initBackend, maxRelError } from '@lowbit/core';
import { type ReconstructionSnapshot, reconstruct } from '@lowbit/nwq-reconstruct';
import type { QuantizedNetwork } from '@lowbit/quantizers';
import { beforeAll, describe, expect, it } from 'vitest';
import { startPtqReplicas } from '../src/ptq/data-parallel.js';
import { loadPtqInputs, type PtqSetupOptions, prepareReconstruction } from '../src/ptq/setup.js';

// The workers load the built replica module (nx builds before testing) without vitest's source condition.
const module = new URL('../dist/ptq/replica.js', import.meta.url);
const execArgv: string[] = [];

function variables(q: QuantizedNetwork): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [n, l] of q.layers) for (const [i, v] of l.quantizer.variables(l.state).entries()) out.set(`w/${n}/${i}`, v.dataSync().slice() as Float32Array);
  for (const [n, s] of q.sites) for (const [i, v] of s.quantizer.variables(s.state).entries()) out.set(`a/${n}/${i}`, v.dataSync().slice() as Float32Array);
  return out;
}

const base: PtqSetupOptions = {
  model: 'resnet-fm',
  method: 'nwq',
  wbits: 2,
  abits: 4,
  calib: 'bundled',
  calibSize: 256,
  keep8bit: 'first,last',
  granularity: 'channel',
  estimator: 'mse',
  seed: 3,
  inputRange: '0,1',
  channelOrder: 'rgb',
  iters: 12,
  batch: 13,
};

describe('data-parallel reconstruction (lowbit ptq --threads)', () => {
  beforeAll(() => initBackend({ backend: 'wasm', fallback: false }));

  for (const [label, options] of [
    ['NWQ (network-wise, ASoftmax, AMixup masks drawn per shard)', base],
    ['QDrop (block-wise, AdaRound regulariser, constant drop)', { ...base, method: 'qdrop', iters: 4 }],
  ] as const) {
    it(`two threads end with the one-thread rounding variables and steps: ${label}`, async () => {
      const seq = prepareReconstruction(options, loadPtqInputs(options));
      const r1 = reconstruct({ setup: seq.q, calibration: seq.calibration, config: seq.config! });
      const par = prepareReconstruction(options, loadPtqInputs(options));
      const before = variables(par.q);
      const reps = await startPtqReplicas(options, par.q, 2, null, { module, execArgv });
      try {
        reps.post(1, { kind: 'run' });
        const r2 = reconstruct({ setup: par.q, calibration: par.calibration, config: par.config!, group: reps.group });
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
    const seq = prepareReconstruction(base, loadPtqInputs(base));
    reconstruct({ setup: seq.q, calibration: seq.calibration, config: seq.config! });
    const par = prepareReconstruction(base, loadPtqInputs(base));
    let snapshot: ReconstructionSnapshot | null = null;
    let steps = 0;
    const first = await startPtqReplicas(base, par.q, 2, null, { module, execArgv });
    try {
      first.post(1, { kind: 'run' });
      const r = reconstruct({
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
    const resumed = prepareReconstruction(base, loadPtqInputs(base));
    const second = await startPtqReplicas(base, resumed.q, 2, snapshot, { module, execArgv });
    try {
      second.post(1, { kind: 'run' });
      const r = reconstruct({ setup: resumed.q, calibration: resumed.calibration, config: resumed.config!, group: second.group, resume: snapshot! });
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
});
