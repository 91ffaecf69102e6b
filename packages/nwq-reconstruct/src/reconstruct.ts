import { checkSnapshot } from './resume-check.js';
import * as tf from '@tensorflow/tfjs-core';
import { adam, allReduceGrads, broadcastParams, constant, cosine, LowbitError, type Optimizer, paramGrads, type QuantSetup, type ReplicaGroup, Rng, type RngState, shareRange, type StepContext, yieldToEventLoop } from '@lowbit/core';
import { quantizableLayers, type Network } from '@lowbit/nn';
import { BatchSampler, type CalibrationSource } from './calibration.js';
import type { ReconstructionConfig } from './config.js';
import { CacheArena } from './target-cache.js';
import { blockUnit, type CacheContext, layerUnit, networkUnit, type Unit } from './units.js';

export interface ProgressInfo {
  unit: string;
  unitIndex: number;
  units: number;
  step: number;
  total: number;
  loss: number;
  terms: Record<string, number>;
  ctx: StepContext;
  elapsedSeconds: number;
}

/** Everything an exact resume needs: where the run was, its generators, variables and optimiser state. */
export interface ReconstructionSnapshot {
  unitIndex: number;
  step: number;
  samplerRng: RngState;
  sampler: { order: number[]; pos: number };
  mixRng: RngState;
  variables: Record<string, { shape: number[]; values: number[] }>;
  optimizers: Record<'weights' | 'activations', { iterations: number; tensors: Record<string, { shape: number[]; values: number[] }> }>;
  units: Array<{ name: string; iterations: number; seconds: number; finalLoss: number }>;
}

export interface ReconstructOptions {
  setup: QuantSetup<Network>;
  calibration: CalibrationSource;
  config: ReconstructionConfig;
  onProgress?: (p: ProgressInfo) => void;
  /** Report progress every N steps (default 10) and at each unit's last step. */
  progressEvery?: number;
  /** Call `onCheckpoint` every N steps (and at the end of each unit). */
  checkpointEvery?: number;
  onCheckpoint?: (s: ReconstructionSnapshot) => void;
  resume?: ReconstructionSnapshot;
  /** Checked between steps: true stops the run (take a snapshot first through onCheckpoint). */
  shouldStop?: () => boolean;
  /** Aborting it stops the run after the current step, like `shouldStop` (the result says `stopped`). */
  signal?: AbortSignal;
  /**
   * Data parallelism: every rank of `group` calls `reconstruct` with the same setup, calibration,
   * config and snapshot; each draws the same batches and takes its rows of each (mixing masks are
   * drawn as for the whole batch, see `StepContext.shard`), and the gradients are summed before
   * identical optimiser steps on every rank — the result equals the one-thread run up to float
   * summation order. A stop requested on any rank stops all of them at the same step. Give the
   * callbacks to rank 0 only.
   */
  group?: ReplicaGroup;
}

export interface ReconstructionResult {
  units: Array<{ name: string; iterations: number; seconds: number; finalLoss: number }>;
  seconds: number;
  stopped: boolean;
  /** What the run changed to fit its memory, per unit (`<unit>: <why its float targets were computed per batch>`). */
  notes: string[];
}

function buildUnits(setup: QuantSetup<Network>, calib: CalibrationSource, c: ReconstructionConfig, evalCtx: StepContext, cx: CacheContext): Unit[] {
  if (c.granularity === 'network') return [networkUnit(setup, calib, c, cx)];
  if (c.granularity === 'block') return setup.net.blocks.map((b) => blockUnit(setup, calib, c, b.name, evalCtx, cx));
  return quantizableLayers(setup.net)
    .filter((l) => setup.layers.has(l.spec.name))
    .map((l) => layerUnit(setup, calib, c, l.spec.name, evalCtx, cx));
}

/** Stable names of every quantizer variable: `w/<layer>/<i>` and `a/<site>/<i>`. */
function allVariables(setup: QuantSetup<Network>): Record<string, tf.Variable> {
  const out: Record<string, tf.Variable> = {};
  for (const [name, q] of setup.layers) {
    for (const [i, v] of q.quantizer.variables(q.state).entries()) out[`w/${name}/${i}`] = v;
  }
  for (const [name, q] of setup.sites) {
    for (const [i, v] of q.quantizer.variables(q.state).entries()) out[`a/${name}/${i}`] = v;
  }
  return out;
}

const dump = (t: tf.Tensor) => ({ shape: t.shape.slice(), values: Array.from(t.dataSync()) });

function validate(c: ReconstructionConfig): void {
  const bad = (msg: string) => {
    throw new LowbitError('E_CONFIG', `reconstruction config: ${msg}`);
  };
  if (!['network', 'block', 'layer'].includes(c.granularity)) bad(`granularity must be network, block or layer, got '${c.granularity}'`);
  if (!(Number.isInteger(c.iterations) && c.iterations >= 1)) bad(`iterations must be a positive integer, got ${c.iterations}`);
  if (!(Number.isInteger(c.batchSize) && c.batchSize >= 1)) bad(`batchSize must be a positive integer, got ${c.batchSize}`);
  if (c.microBatch !== undefined && !(Number.isInteger(c.microBatch) && c.microBatch >= 1)) bad(`microBatch must be a positive integer, got ${c.microBatch}`);
  if (c.inferenceBatch !== undefined && !(Number.isInteger(c.inferenceBatch) && c.inferenceBatch >= 1)) bad(`inferenceBatch must be a positive integer, got ${c.inferenceBatch}`);
  if (c.cacheBytes !== undefined && !(c.cacheBytes >= 0)) bad(`cacheBytes must be ≥ 0, got ${c.cacheBytes}`);
  if (c.cachePrecision !== undefined && !['auto', 'float32', 'float16'].includes(c.cachePrecision)) bad(`cachePrecision must be auto, float32 or float16, got '${c.cachePrecision}'`);
  if (c.cacheArena !== undefined && !(typeof SharedArrayBuffer === 'function' && c.cacheArena instanceof SharedArrayBuffer)) bad('cacheArena must be a SharedArrayBuffer');
  if (!(c.weightLr >= 0) || !(c.activationLr >= 0)) bad('learning rates must be ≥ 0');
}

/** True on any rank when a stop was requested on any (one small all-reduce per step). */
function agreeToStop(group: ReplicaGroup | undefined, local: boolean): boolean {
  if (!group || group.size === 1) return local;
  const v = new Float64Array([local ? 1 : 0]);
  group.allReduce(v);
  return v[0]! > 0;
}

/**
 * Optimises the rounding choices and activation steps of a quantized network against its float
 * version, at network, block or layer granularity (see {@link ReconstructionConfig}). Adam on the
 * weight quantizers' variables and on the activation steps, each with its own learning rate and
 * schedule; seeded batch sampling and mixing masks; progress and checkpoint callbacks; exact
 * resume from a snapshot. Every step runs inside `tf.tidy`; between steps the event loop runs
 * (signal handlers, `signal`, progress UIs), so the returned promise settles after the last step.
 */
export async function reconstruct(o: ReconstructOptions): Promise<ReconstructionResult> {
  const c = o.config;
  validate(c);
  const group = o.group && o.group.size > 1 ? o.group : undefined;
  const rows = Math.min(c.batchSize, o.calibration.size);
  if (group && rows < group.size) throw new LowbitError('E_CONFIG', `reconstruction config: a batch of ${rows} cannot be split over ${group.size} threads`);
  const t0 = performance.now();
  const seedRng = new Rng(c.seed);
  const samplerRng = o.resume ? Rng.fromState(o.resume.samplerRng) : seedRng.fork();
  const mixRng = o.resume ? Rng.fromState(o.resume.mixRng) : seedRng.fork();
  const evalCtx: StepContext = { step: 0, total: 1, training: false, rng: mixRng };
  // a data-parallel group with shared memory fills one cache for all its ranks
  const arena = group && c.cacheArena ? new CacheArena(c.cacheArena) : null;
  const units = buildUnits(o.setup, o.calibration, c, evalCtx, { arena, ...(group ? { group } : {}) });
  const vars = allVariables(o.setup);
  if (o.resume) {
    checkSnapshot(o.resume, { units: units.map((u) => u.name), iterations: c.iterations, calibrationSize: o.calibration.size, variables: vars });
    for (const [name, v] of Object.entries(o.resume.variables)) {
      const target = vars[name];
      if (!target) throw new LowbitError('E_RESUME', `resume: snapshot variable '${name}' does not exist in this setup`);
      tf.tidy(() => target.assign(tf.tensor(v.values, v.shape, 'float32')));
    }
  }
  // every rank starts from rank 0's values (they build the same setup; this makes sure of it)
  if (group) broadcastParams(group, vars);
  const sampler = new BatchSampler(o.calibration.size, c.batchSize, samplerRng, o.resume?.sampler);
  const done = o.resume ? o.resume.units.slice() : [];
  const startUnit = o.resume?.unitIndex ?? 0;
  const every = o.progressEvery ?? 10;
  let stopped = false;
  const notes: string[] = [];
  for (let ui = startUnit; ui < units.length && !stopped; ui++) {
    const unit = units[ui]!;
    const tu = performance.now();
    const wParams: Record<string, tf.Variable> = {};
    const aParams: Record<string, tf.Variable> = {};
    for (const l of unit.layers) {
      const q = o.setup.layers.get(l)!;
      for (const [i, v] of q.quantizer.variables(q.state).entries()) wParams[`w/${l}/${i}`] = v;
    }
    if (c.activationLr > 0) {
      for (const s of unit.sites) {
        const q = o.setup.sites.get(s)!;
        for (const [i, v] of q.quantizer.variables(q.state).entries()) aParams[`a/${s}/${i}`] = v;
      }
    }
    const wSched = c.weightLrSchedule ?? constant(1);
    const aSched = c.activationLrSchedule ?? cosine(1, 0);
    const wOpt: Optimizer = adam({ lr: (s, t) => c.weightLr * wSched(s, t), totalSteps: c.iterations });
    const aOpt: Optimizer = adam({ lr: (s, t) => c.activationLr * aSched(s, t), totalSteps: c.iterations });
    let step = 0;
    if (o.resume && ui === startUnit) {
      step = o.resume.step;
      const restore = (opt: Optimizer, s: ReconstructionSnapshot['optimizers']['weights']) => {
        const tensors = Object.fromEntries(Object.entries(s.tensors).map(([k, v]) => [k, tf.tensor(v.values, v.shape, 'float32')]));
        opt.loadState({ iterations: s.iterations, tensors });
        tf.dispose(Object.values(tensors));
      };
      restore(wOpt, o.resume.optimizers.weights);
      restore(aOpt, o.resume.optimizers.activations);
    }
    const layerQs = unit.layers.map((l) => o.setup.layers.get(l)!);
    // the kernels of the unit's trained layers, quantized once per step (see the step)
    const kernelOf = (l: string) => o.setup.net.params[l]!['kernel']!;
    const quantized = new Map<string, tf.Variable>();
    for (const l of unit.layers) {
      const q = o.setup.layers.get(l)!;
      if (q.quantizer.variables(q.state).length === 0) continue;
      const zeros = tf.zerosLike(kernelOf(l));
      quantized.set(l, tf.variable(zeros));
      zeros.dispose();
    }
    const quantizedParams: Record<string, tf.Variable> = Object.fromEntries([...quantized].map(([l, v]) => [`k/${l}`, v]));
    const snapshot = (): ReconstructionSnapshot => {
      const ws = wOpt.state();
      const as = aOpt.state();
      const tensors = (t: Record<string, tf.Tensor>) => Object.fromEntries(Object.entries(t).map(([k, v]) => [k, dump(v)]));
      return {
        unitIndex: step >= c.iterations ? ui + 1 : ui,
        step: step >= c.iterations ? 0 : step,
        samplerRng: samplerRng.state(),
        sampler: sampler.state(),
        mixRng: mixRng.state(),
        variables: Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, dump(v)])),
        optimizers: { weights: { iterations: ws.iterations, tensors: tensors(ws.tensors) }, activations: { iterations: as.iterations, tensors: tensors(as.tensors) } },
        units: done.slice(),
      };
    };
    unit.prepare();
    const note = unit.cacheNote();
    if (note) notes.push(`${unit.name}: ${note}`);
    let lastLoss = Number.NaN;
    try {
      for (; step < c.iterations; step++) {
        // let the event loop run between steps: a Ctrl-C handler, an AbortSignal or a page's UI can act
        await yieldToEventLoop();
        if (agreeToStop(group, (o.shouldStop?.() ?? false) || (o.signal?.aborted ?? false))) {
          stopped = true;
          break;
        }
        const batch = sampler.next();
        // this rank's rows of the batch, and their share of its loss
        const [from, to] = group ? shareRange(batch.length, group.rank, group.size) : [0, batch.length];
        const micro = Math.min(c.microBatch ?? to - from, to - from);
        const ctx: StepContext = { step, total: c.iterations, training: true, rng: mixRng, ...(group ? { shard: { before: from, after: batch.length - to } } : {}) };
        const report = (step + 1) % every === 0 || step === c.iterations - 1;
        const termValues: Record<string, number> = {};
        // every pass starts from the step's generator state and skips the rows the others hold, so
        // the masks are the whole batch's; after the last pass the generator is where one pass leaves it
        const rngStart = mixRng.state();
        const passes: Array<[number, number]> = [];
        for (let a = from; a < to; a += micro) passes.push([a, Math.min(to, a + micro)]);
        const split = passes.length > 1 || group !== undefined;
        // the step's sums over its passes: gradients, the loss, and (when reported or exchanged) its terms
        const sums = { grads: {} as Record<string, tf.Tensor>, total: {} as Record<string, tf.Tensor>, terms: {} as Record<string, tf.Tensor> };
        const accumulate = (into: Record<string, tf.Tensor>, k: string, v: tf.Tensor) => {
          const prev = into[k];
          into[k] = tf.keep(prev ? tf.add(prev, v) : v.clone());
          prev?.dispose();
        };
        // the step's quantized kernels, once for all its passes (their rounding is the costly part
        // of a pass on large layers): each pass differentiates its loss w.r.t. them
        tf.tidy(() => {
          for (const [l, v] of quantized) {
            const q = o.setup.layers.get(l)!;
            v.assign(q.quantizer.apply(kernelOf(l), q.state, ctx));
          }
        });
        for (const [a, b] of passes) {
          tf.tidy(() => {
            mixRng.setState(rngStart);
            const passCtx: StepContext = split ? { ...ctx, shard: { before: a, after: batch.length - b } } : ctx;
            const kept: Record<string, tf.Scalar> = {};
            const local = paramGrads(() => {
              const terms = unit.loss(batch.subarray(a, b), passCtx, quantized);
              // each pass carries its rows' share of the batch loss
              if (split) for (const k of Object.keys(terms)) terms[k] = tf.mul(terms[k]!, (b - a) / batch.length) as tf.Scalar;
              // every step under a group: the ranks must exchange the same numbers whatever their progress settings
              if (report || group) for (const [k, v] of Object.entries(terms)) kept[k] = tf.keep(v);
              return tf.addN(Object.values(terms)) as tf.Scalar;
            }, { ...aParams, ...quantizedParams });
            for (const [k, g] of Object.entries(local.grads)) accumulate(sums.grads, k, g);
            for (const [k, v] of Object.entries(kept)) {
              accumulate(sums.terms, k, v);
              v.dispose();
            }
            accumulate(sums.total, 'loss', local.value);
          });
        }
        // one backward through the weight quantizers turns the summed kernel gradients into their
        // variables' (the chain rule, linear in the gradients: the same as through every pass), with
        // the rounding regulariser once per step (this rank's share of it under a group)
        tf.tidy(() => {
          const share = (to - from) / batch.length;
          const kernelGrads = Object.keys(quantizedParams).filter((k) => sums.grads[k]);
          let round: tf.Scalar | null = null;
          // nothing reached a kernel and no regulariser is on this step: no weight gradients
          if (kernelGrads.length === 0 && !layerQs.some((q) => q.quantizer.regularizer?.(q.state, ctx))) return;
          const wStep = paramGrads(() => {
            const parts: tf.Scalar[] = kernelGrads.map((k) => {
              const l = k.slice('k/'.length);
              const q = o.setup.layers.get(l)!;
              return tf.sum(tf.mul(q.quantizer.apply(kernelOf(l), q.state, ctx), sums.grads[k]!));
            });
            for (const q of layerQs) {
              const r = q.quantizer.regularizer?.(q.state, ctx);
              if (r) round = round ? (tf.add(round, r) as tf.Scalar) : r;
            }
            if (round) {
              round = tf.keep(tf.mul(round, share) as tf.Scalar);
              parts.push(round);
            }
            return (parts.length === 1 ? parts[0]! : tf.addN(parts)) as tf.Scalar;
          }, wParams);
          for (const [k, g] of Object.entries(wStep.grads)) accumulate(sums.grads, k, g);
          if (round) {
            if (report || group) accumulate(sums.terms, 'round', round);
            accumulate(sums.total, 'loss', round);
            (round as tf.Scalar).dispose();
          }
        });
        for (const k of Object.keys(quantizedParams)) {
          sums.grads[k]?.dispose();
          delete sums.grads[k];
        }
        tf.tidy(() => {
          const names = Object.keys(sums.terms).sort();
          const numbers = [sums.total['loss']!.dataSync()[0]!, ...names.map((k) => sums.terms[k]!.dataSync()[0]!)];
          // one rank: the gradients as they are; several: summed over the ranks (with the numbers)
          const { grads, extras } = group ? allReduceGrads(group, sums.grads, numbers) : { grads: sums.grads, extras: numbers };
          const pick = (p: Record<string, tf.Variable>) => Object.fromEntries(Object.keys(p).filter((k) => grads[k]).map((k) => [k, grads[k]!]));
          if (Object.keys(wParams).length > 0) wOpt.step(wParams, pick(wParams));
          if (Object.keys(aParams).length > 0) {
            aOpt.step(aParams, pick(aParams));
            for (const v of Object.values(aParams)) v.assign(tf.maximum(v, 1e-8));
          }
          lastLoss = extras[0]!;
          names.forEach((k, i) => {
            termValues[k] = extras[i + 1]!;
          });
        });
        tf.dispose([...Object.values(sums.grads), ...Object.values(sums.terms), ...Object.values(sums.total)]);
        if (!Number.isFinite(lastLoss)) throw new LowbitError('E_DIVERGED', `reconstruction diverged in '${unit.name}' at step ${step + 1}: loss ${lastLoss}`);
        if (report) {
          o.onProgress?.({
            unit: unit.name,
            unitIndex: ui,
            units: units.length,
            step: step + 1,
            total: c.iterations,
            loss: lastLoss,
            terms: termValues,
            ctx,
            elapsedSeconds: (performance.now() - t0) / 1000,
          });
        }
        if (o.onCheckpoint && o.checkpointEvery && (step + 1) % o.checkpointEvery === 0 && step + 1 < c.iterations) {
          step++;
          o.onCheckpoint(snapshot());
          step--;
        }
      }
      // A stop's snapshot needs the optimisers' moments: take it before they are disposed.
      if (stopped && o.onCheckpoint) o.onCheckpoint(snapshot());
    } finally {
      unit.finish();
      arena?.reset();
      tf.dispose([...quantized.values()]);
      wOpt.dispose();
      aOpt.dispose();
    }
    if (!stopped) {
      done.push({ name: unit.name, iterations: c.iterations, seconds: (performance.now() - tu) / 1000, finalLoss: lastLoss });
      // The next unit starts with fresh optimisers: a snapshot here needs no moments.
      if (o.onCheckpoint) o.onCheckpoint(snapshot());
    }
  }
  return { units: done, seconds: (performance.now() - t0) / 1000, stopped, notes };
}
