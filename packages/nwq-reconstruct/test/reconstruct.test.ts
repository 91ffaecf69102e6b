import * as tf from '@tensorflow/tfjs-core';
import { type ActivationMixer, evalContext, Rng } from '@lowbit/core';
import { amixup, noMixing, qdrop } from '@lowbit/amixup';
import { disposeNetwork, forward } from '@lowbit/nn';
import { beforeAll, describe, expect, it } from 'vitest';
import { arLoss, PRESETS, type ReconstructionConfig, type ReconstructionSnapshot, reconstruct } from '../src/index.js';
import { calibrate, calibration, setup, smallNet, wasm } from './fixtures.js';

beforeAll(wasm);

const base = (over: Partial<ReconstructionConfig> & { mixer: ActivationMixer }): ReconstructionConfig => ({
  granularity: 'network',
  iterations: 60,
  batchSize: 16,
  regularize: 'blocks',
  outputLoss: 'none',
  outputWeight: 1,
  weightLr: 1e-2,
  activationLr: 1e-3,
  targets: 'cache',
  seed: 5,
  ...over,
});

/** Relative L2 error of the quantized (hard) network's logits against the float network's. */
function outputError(q: ReturnType<typeof setup>, x: tf.Tensor): number {
  return tf.tidy(() => {
    const fp = forward(q.net, x).output;
    const qo = forward(q.net, x, q.forwardOptions(evalContext(new Rng(0)))).output;
    return tf.div(tf.norm(tf.sub(qo, fp)), tf.norm(fp)).dataSync()[0]!;
  });
}

describe('losses', () => {
  it('AR loss is the λ-weighted sum of per-example squared distances, averaged over the batch; channels reduction averages positions too', () => {
    const v = tf.tidy(() => {
      const q = new Map<string, tf.Tensor>([
        ['a', tf.tensor2d([[1, 2], [0, 1]])],
        ['b', tf.tensor2d([[0, 0, 3]])],
      ]);
      const f = new Map<string, tf.Tensor>([
        ['a', tf.tensor2d([[0, 0], [0, 0]])],
        ['b', tf.tensor2d([[1, 0, 0]])],
      ]);
      return arLoss(q, f, { b: 2 }).dataSync()[0]!;
    });
    // a: examples (1 + 4) and (0 + 1) → mean 3; b: (1 + 0 + 9) · λ 2 = 20
    expect(v).toBeCloseTo(3 + 20, 5);
    // a feature map [N=1, H=1, W=2, C=2]: features — 1 + 4 + 0 + 1 = 6; channels — per position (1 + 4), (0 + 1), averaged: 3
    const fm = () => [new Map([['c', tf.tensor4d([1, 2, 0, 1], [1, 1, 2, 2])]]), new Map([['c', tf.zeros([1, 1, 2, 2])]])] as const;
    expect(tf.tidy(() => arLoss(...fm()).dataSync()[0]!)).toBeCloseTo(6, 6);
    expect(tf.tidy(() => arLoss(...fm(), {}, 'channels').dataSync()[0]!)).toBeCloseTo(3, 6);
  });

  it('relative AR weighting: each point counts by its error relative to its target, whatever the scale', () => {
    // two points with the same 10% error, one 100× larger: sum weighting is dominated by it, relative is not
    const v = (weighting: 'sum' | 'relative') =>
      tf.tidy(() => {
        const small = tf.tensor2d([[1, -2, 3]]);
        const big = tf.mul(small, 100);
        const q = new Map<string, tf.Tensor>([
          ['small', tf.mul(small, 1.1)],
          ['big', tf.mul(big, 0.9)],
        ]);
        const f = new Map<string, tf.Tensor>([
          ['small', small],
          ['big', big],
        ]);
        return arLoss(q, f, { small: 3 }, 'features', weighting).dataSync()[0]!;
      });
    expect(v('relative')).toBeCloseTo(3 * 0.01 + 0.01, 6);
    expect(v('sum')).toBeCloseTo(3 * 0.01 * 14 + 0.01 * 14 * 1e4, 1);
  });
});

describe('presets', () => {
  it('each method is one config over the same engine', () => {
    expect(PRESETS.rtn.config).toBeNull();
    expect(PRESETS.adaround).toMatchObject({ rounding: 'adaround', mixing: 'none', config: { granularity: 'layer', activationLr: 0, reduction: 'channels' } });
    expect(PRESETS.brecq).toMatchObject({ rounding: 'adaround', mixing: 'none', config: { granularity: 'block', reduction: 'channels' } });
    expect(PRESETS.qdrop).toMatchObject({ rounding: 'adaround', mixing: 'qdrop', config: { granularity: 'block', reduction: 'channels' } });
    expect(PRESETS.nwq).toMatchObject({ rounding: 'asoftmax', mixing: 'amixup', config: { granularity: 'network', regularize: 'blocks', weightLr: 1e-3, activationLr: 4e-5, batchSize: 32, reduction: 'features' } });
  });
});

describe('reconstruction lowers the output error of a W3A4 network below round-to-nearest', () => {
  const cases: Array<[string, 'asoftmax' | 'adaround', Partial<ReconstructionConfig>, ActivationMixer]> = [
    ['network (NWQ: AR over blocks, ASoftmax, AMixup)', 'asoftmax', { granularity: 'network' }, amixup()],
    ['network, AR over layers, per-batch targets', 'asoftmax', { granularity: 'network', regularize: 'layers', targets: 'per-batch' }, amixup()],
    ['block (QDrop)', 'adaround', { granularity: 'block', iterations: 40 }, qdrop()],
    ['layer (AdaRound)', 'adaround', { granularity: 'layer', iterations: 40, activationLr: 0 }, noMixing()],
  ];
  for (const [name, rounding, over, mixer] of cases) {
    it(name, async () => {
      const x = new Rng(9).normalTensor([64, 8, 8, 2]);
      const net = smallNet();
      const calib = calibration(128);
      const rtn = setup(net, 'nearest', 3, 4);
      calibrate(rtn, calib);
      const rtnErr = outputError(rtn, x);
      rtn.dispose();
      const q = setup(net, rounding, 3, 4);
      calibrate(q, calib);
      const before = outputError(q, x);
      const losses: number[] = [];
      const r = await reconstruct({ setup: q, calibration: calib, config: base({ ...over, mixer }), onProgress: (p) => losses.push(p.loss) });
      const after = outputError(q, x);
      expect(r.stopped).toBe(false);
      expect(r.units.length).toBe(over.granularity === 'network' ? 1 : over.granularity === 'block' ? 4 : 5);
      // (the NWQ loss itself rises while τ anneals: soft weights equal float weights at τ = 1)
      expect(after).toBeLessThan(0.9 * rtnErr);
      expect(after).toBeLessThan(before);
      expect(losses.length).toBeGreaterThan(0);
      expect(losses.every(Number.isFinite)).toBe(true);
      q.dispose();
      calib.data.dispose();
      x.dispose();
      disposeNetwork(net);
    }, 120_000);
  }
});

describe('engine mechanics', () => {
  it('does not leak tensors over 300 iterations', async () => {
    const net = smallNet(2);
    const calib = calibration(64);
    const q = setup(net, 'asoftmax', 4, 4);
    calibrate(q, calib);
    const counts: number[] = [];
    await reconstruct({
      setup: q,
      calibration: calib,
      config: base({ iterations: 300, mixer: amixup(), targets: 'per-batch' }),
      progressEvery: 50,
      onProgress: () => counts.push(tf.memory().numTensors),
    });
    expect(new Set(counts).size).toBe(1);
    q.dispose();
    calib.data.dispose();
    disposeNetwork(net);
  }, 120_000);

  it('resuming from a snapshot gives the same variables as an uninterrupted run', async () => {
    const run = async (stopAt: number | null, resume?: ReconstructionSnapshot) => {
      const net = smallNet(4);
      const calib = calibration(64);
      const q = setup(net, 'adaround', 3, 4);
      calibrate(q, calib);
      let snap: ReconstructionSnapshot | undefined;
      let steps = 0;
      try {
        await reconstruct({
          setup: q,
          calibration: calib,
          config: base({ granularity: 'block', iterations: 10, mixer: qdrop() }),
          progressEvery: 1,
          onProgress: () => steps++,
          onCheckpoint: (s) => (snap = s),
          shouldStop: () => stopAt !== null && steps >= stopAt,
          ...(resume ? { resume } : {}),
        });
        return { values: q.variables().map((v) => Array.from(v.dataSync())), snap: snap! };
      } finally {
        q.dispose();
        calib.data.dispose();
        disposeNetwork(net);
      }
    };
    const full = await run(null);
    const first = await run(17); // stops inside the second block
    expect(first.snap.unitIndex).toBe(1);
    expect(first.snap.step).toBe(7);
    const tensors = tf.memory().numTensors;
    const resumed = await run(null, JSON.parse(JSON.stringify(first.snap)));
    expect(tf.memory().numTensors).toBe(tensors);
    expect(resumed.values.length).toBe(full.values.length);
    resumed.values.forEach((v, i) => {
      for (let j = 0; j < v.length; j++) expect(Math.abs(v[j]! - full.values[i]![j]!)).toBeLessThanOrEqual(1e-6);
    });
    // a snapshot that cannot belong to this run (edited, or another setup's) is refused, naming the field, leaking nothing
    const edited = (edit: (s: ReconstructionSnapshot) => void) => {
      const s = JSON.parse(JSON.stringify(first.snap)) as ReconstructionSnapshot;
      edit(s);
      return s;
    };
    const varName = Object.keys(first.snap.variables)[0]!;
    for (const [edit, message] of [
      [(s) => (s.unitIndex = 7), /snapshot field 'unitIndex' must be an integer from 0 to 4 \(the units of this reconstruction\), got 7/],
      [(s) => (s.step = 100_000), /snapshot field 'step' must be an integer from 0 to 9 \(iterations per unit\), got 100000/],
      [(s) => (s.units = []), /snapshot field 'units' lists 0 finished unit\(s\); unitIndex 1 needs 1/],
      [(s) => (s.units[0]!.name = 'elsewhere'), /snapshot field 'units\[0\]\.name' is 'elsewhere', this reconstruction's unit 1 is/],
      [(s) => (s.sampler.order[1] = s.sampler.order[0]!), /snapshot field 'sampler\.order' must be a permutation of 0\.\.63/],
      [(s) => (s.sampler.pos = 65), /snapshot field 'sampler\.pos' must be an integer from 0 to 64, got 65/],
      [(s) => (s.mixRng = [1, 2, 3] as never), /snapshot field 'mixRng' must be a generator state/],
      [(s) => delete s.variables[varName], new RegExp(`snapshot field 'variables' has no '${varName}'`)],
      [(s) => (s.variables[varName]!.shape = [1, ...s.variables[varName]!.shape, 1]), /snapshot field 'variables\..*' has shape \[1, .*, 1\], this setup's variable/],
    ] as Array<[(s: ReconstructionSnapshot) => void, RegExp]>) {
      const before = tf.memory().numTensors;
      await expect(run(null, edited(edit))).rejects.toMatchObject({ code: 'E_RESUME', message: expect.stringMatching(message) });
      expect(tf.memory().numTensors).toBe(before);
    }
  }, 120_000);

  it('an AbortSignal aborted from a timer stops the run after the current step (the loop yields to the event loop)', async () => {
    const net = smallNet(5);
    const calib = calibration(32);
    const q = setup(net, 'asoftmax', 4, 4);
    calibrate(q, calib);
    const controller = new AbortController();
    let steps = 0;
    let snap: ReconstructionSnapshot | undefined;
    // aborted by a macrotask, as a Ctrl-C handler or a page's button would be: only a loop that yields lets it run
    setTimeout(() => controller.abort(), 0);
    const r = await reconstruct({
      setup: q,
      calibration: calib,
      config: base({ iterations: 100_000, mixer: amixup() }),
      progressEvery: 1,
      onProgress: () => steps++,
      onCheckpoint: (s) => (snap = s),
      signal: controller.signal,
    });
    expect(r.stopped).toBe(true);
    expect(steps).toBeLessThan(1000);
    expect(snap?.step).toBe(steps);
    q.dispose();
    calib.data.dispose();
    disposeNetwork(net);
  }, 120_000);

  it('rejects bad configurations', async () => {
    const net = smallNet(6);
    const calib = calibration(16);
    const q = setup(net, 'asoftmax', 4, 4);
    calibrate(q, calib);
    await expect(reconstruct({ setup: q, calibration: calib, config: base({ iterations: 0, mixer: amixup() }) })).rejects.toThrow(/iterations must be a positive integer, got 0/);
    await expect(reconstruct({ setup: q, calibration: calib, config: base({ granularity: 'pixel' as never, mixer: amixup() }) })).rejects.toThrow(/granularity must be/);
    q.dispose();
    calib.data.dispose();
    disposeNetwork(net);
  });
});

describe('bounded memory: micro-batches and the float-target cache', () => {
  /** Variables (before and after) and per-step losses of a short run of `config` on a fresh setup (same seeds every time). */
  const runWith = async (rounding: 'asoftmax' | 'adaround', config: ReconstructionConfig) => {
    const net = smallNet(6);
    const calib = calibration(64);
    const q = setup(net, rounding, 3, 4);
    calibrate(q, calib);
    const init = q.variables().map((v) => Float64Array.from(v.dataSync()));
    const losses: number[] = [];
    const r = await reconstruct({ setup: q, calibration: calib, config, progressEvery: 1, onProgress: (p) => losses.push(p.loss) });
    const values = q.variables().map((v) => Float64Array.from(v.dataSync()));
    q.dispose();
    calib.data.dispose();
    disposeNetwork(net);
    return { init, values, losses, notes: r.notes };
  };
  const maxDiff = (a: Float64Array[], b: Float64Array[]) => {
    expect(a.length).toBe(b.length);
    let m = 0;
    a.forEach((v, i) => {
      v.forEach((x, j) => {
        m = Math.max(m, Math.abs(x - b[i]![j]!));
      });
    });
    return m;
  };
  /** ‖a − b‖ / ‖b − b's initial values‖ over all variables: the difference relative to what the run changed. */
  const relative = (a: { values: Float64Array[] }, b: { values: Float64Array[]; init: Float64Array[] }) => {
    let d = 0;
    let n = 0;
    a.values.forEach((v, i) => {
      v.forEach((x, j) => {
        d += (x - b.values[i]![j]!) ** 2;
        n += (b.values[i]![j]! - b.init[i]![j]!) ** 2;
      });
    });
    return Math.sqrt(d / n);
  };

  it('accumulating gradients over micro-batches gives the steps of one pass over the batch (NWQ with AMixup masks, QDrop blocks)', async () => {
    for (const [rounding, over, mixer] of [
      ['asoftmax', { granularity: 'network' as const, iterations: 30 }, amixup],
      ['adaround', { granularity: 'block' as const, iterations: 10 }, qdrop],
    ] as const) {
      const whole = await runWith(rounding, base({ ...over, mixer: mixer() }));
      // one pass of 16: exactly the unsplit step
      const one = await runWith(rounding, base({ ...over, mixer: mixer(), microBatch: 16 }));
      expect(maxDiff(one.values, whole.values)).toBe(0);
      // passes of 5+5+5+1 rows: every step's loss is the batch's (same rows, same mixing masks), gradients summed in another
      // order; Adam's normalisation turns that float rounding into small drifts of the variables, nothing more
      const split = await runWith(rounding, base({ ...over, mixer: mixer(), microBatch: 5 }));
      expect(split.losses.length).toBe(whole.losses.length);
      for (const [i, l] of split.losses.entries()) expect(Math.abs(l - whole.losses[i]!) / whole.losses[i]!, `${over.granularity} step ${i + 1}`).toBeLessThan(1e-3);
      expect(relative(split, whole)).toBeLessThan(1e-2);
      // against that scale: another seed (other batches and masks) moves the variables by far more
      const other = await runWith(rounding, { ...base({ ...over, mixer: mixer() }), seed: 6 });
      expect(relative(other, whole)).toBeGreaterThan(0.1);
    }
  }, 240_000);

  it('a cache over its budget falls back to per-batch targets, says so, and reaches the same result', async () => {
    const cached = await runWith('asoftmax', base({ iterations: 20, mixer: amixup() }));
    expect(cached.notes).toEqual([]);
    const budgetIsEnough = await runWith('asoftmax', base({ iterations: 20, mixer: amixup(), cacheBytes: 64 * 4 * (8 * 8 * 8 * 2 + 4 * 4 * 12 + 6 + 6) }));
    // block outputs stem, b1 (8·8·8), b2 (4·4·12), head (6) and the logits (6): exactly the budget; one byte less does not fit
    expect((await runWith('asoftmax', base({ iterations: 1, mixer: amixup(), cacheBytes: 64 * 4 * (8 * 8 * 8 * 2 + 4 * 4 * 12 + 6 + 6) - 1 }))).notes).toHaveLength(1);
    expect(budgetIsEnough.notes).toEqual([]);
    const over = await runWith('asoftmax', base({ iterations: 20, mixer: amixup(), cacheBytes: 1000 }));
    expect(over.notes).toHaveLength(1);
    expect(over.notes[0]).toMatch(/^network: the float targets of 64 images need \d+ MB \(\d+ MB in float16\), more than the cache budget of 0 MB: computed per batch$/);
    const perBatch = await runWith('asoftmax', base({ iterations: 20, mixer: amixup(), targets: 'per-batch' }));
    expect(maxDiff(over.values, perBatch.values)).toBe(0);
    // cached rows are the float forward's values: the same run up to the float rounding of batch composition
    expect(relative(cached, perBatch)).toBeLessThan(1e-2);
    // block units cache inputs and targets, each within half the budget
    const blocks = await runWith('adaround', base({ granularity: 'block', iterations: 5, mixer: qdrop(), cacheBytes: 1000 }));
    expect(blocks.notes.map((n) => n.split(':')[0])).toEqual(['stem', 'b1', 'b2', 'head']);
  }, 240_000);

  it('a float16 cache (chosen when float32 does not fit the budget, or asked for) stays within 1% of the float32 run', async () => {
    const values = 64 * (8 * 8 * 8 * 2 + 4 * 4 * 12 + 6 + 6);
    const f32 = await runWith('asoftmax', base({ iterations: 20, mixer: amixup(), cachePrecision: 'float32' }));
    expect(f32.notes).toEqual([]);
    // 3 bytes per value: float32 does not fit, float16 does
    const auto = await runWith('asoftmax', base({ iterations: 20, mixer: amixup(), cacheBytes: 3 * values }));
    expect(auto.notes).toHaveLength(1);
    expect(auto.notes[0]).toMatch(/^network: the float targets of 64 images are cached in float16 \(\d+ MB; float32 would need \d+ MB, more than the cache budget of \d+ MB\)$/);
    const asked = await runWith('asoftmax', base({ iterations: 20, mixer: amixup(), cachePrecision: 'float16' }));
    expect(asked.notes).toEqual([]);
    expect(maxDiff(asked.values, auto.values)).toBe(0);
    expect(relative(asked, f32)).toBeLessThan(1e-2);
    expect(maxDiff(asked.values, f32.values)).toBeGreaterThan(0);
    // float32 asked for but over the budget: per batch, never float16
    const strict = await runWith('asoftmax', base({ iterations: 1, mixer: amixup(), cacheBytes: 3 * values, cachePrecision: 'float32' }));
    expect(strict.notes[0]).toMatch(/need \d+ MB, more than the cache budget of \d+ MB: computed per batch$/);
  }, 240_000);

  it('rejects bad micro-batch, inference-batch and cache settings', async () => {
    const net = smallNet(7);
    const calib = calibration(16);
    const q = setup(net, 'asoftmax', 4, 4);
    for (const [k, v, msg] of [
      ['microBatch', 0, /microBatch must be a positive integer, got 0/],
      ['microBatch', 2.5, /microBatch must be a positive integer, got 2.5/],
      ['inferenceBatch', -1, /inferenceBatch must be a positive integer, got -1/],
      ['cacheBytes', -5, /cacheBytes must be ≥ 0, got -5/],
      ['cachePrecision', 'half', /cachePrecision must be auto, float32 or float16, got 'half'/],
      ['cacheArena', new ArrayBuffer(8), /cacheArena must be a SharedArrayBuffer/],
    ] as const) {
      await expect(reconstruct({ setup: q, calibration: calib, config: { ...base({ mixer: amixup() }), [k]: v } })).rejects.toThrow(msg);
    }
    q.dispose();
    calib.data.dispose();
    disposeNetwork(net);
  });

  it('does not leak tensors over 100 iterations at micro-batch size, with a JS-memory cache', async () => {
    const net = smallNet(8);
    const calib = calibration(64);
    const q = setup(net, 'asoftmax', 4, 4);
    calibrate(q, calib);
    const counts: number[] = [];
    const bytes: number[] = [];
    await reconstruct({
      setup: q,
      calibration: calib,
      config: base({ iterations: 100, mixer: amixup(), microBatch: 3, inferenceBatch: 7 }),
      progressEvery: 20,
      onProgress: () => {
        counts.push(tf.memory().numTensors);
        bytes.push(tf.memory().numBytes);
      },
    });
    expect(new Set(counts).size).toBe(1);
    expect(new Set(bytes).size).toBe(1);
    q.dispose();
    calib.data.dispose();
    disposeNetwork(net);
  }, 120_000);
});
