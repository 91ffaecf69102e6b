import * as tf from '@tensorflow/tfjs-core';
import { adam, cosine, ExponentialMovingAverage, LowbitError, type Optimizer, partitioned, Rng, type RngState, sgd, warmup, yieldToEventLoop } from '@lowbit/core';
import { activeCandidates, createScheduler, freezeRatio, type SchedulerState, turbulence, updateFreezing } from '@lowbit/bitwidth-scheduler';
import { batchCount, epochOrder, type LabeledSet, makeBatch, subset } from '@lowbit/data';
import { disposeNetwork, type Network } from '@lowbit/nn';
import { join } from 'node:path';
import { hasCheckpoint, loadCheckpoint, saveCheckpoint, type TrainState } from '../train/checkpoint.js';
import { disposeBatches, fixedBatches } from './evaluate-policy.js';
import { type CandidateConfig, calibrateOneShot, createOneShotNet, type OneShotNet } from './one-shot-net.js';
import { type OneShotReplicas, oneShotStepParallel, startOneShotReplicas } from './data-parallel.js';
import { oneShotStep } from './one-shot-step.js';
import { checkResumeSettings, type ResumeSetting } from '../util/resume-settings.js';

export interface MpqTrainConfig {
  /** What the float network came from (reference name or path). */
  model: string;
  epochs: number;
  /** Optimiser steps per epoch (0 = the whole training set once). */
  stepsPerEpoch: number;
  batchSize: number;
  lr: number;
  momentum: number;
  weightDecay: number;
  seed: number;
  /** Random-bit forwards per step besides the max-bit one (≥ 1: with none, no lower bit-width is ever trained). */
  k: number;
  /** IDM weight (0 = off). */
  idmWeight: number;
  /** Bit-width scheduler on/off. */
  scheduler: boolean;
  /** Steps between scheduler updates. */
  schedulerPeriod: number;
  freezeStart: number;
  freezeEnd: number;
  /** Turbulence threshold, in steps of the grid. */
  turbulenceThreshold: number;
  /**
   * A layer the scheduler freezes also loses its input's lowest activation bits for the period
   * (the reference's ResNet setting). Default false (absent in checkpoints of earlier versions).
   */
  freezeActivations?: boolean;
  // The training recipe beyond plain SGD + cosine (the reference's; each absent = off, as in
  // checkpoints of earlier versions):
  /** Linear learning-rate warm-up over this many epochs, then the cosine decay. */
  warmupEpochs?: number;
  /** The cosine decay ends at this learning rate (default 0). */
  lrMin?: number;
  /** Quantizer steps (`q/…`) on their own Adam at this constant learning rate instead of in the SGD. */
  stepLr?: number;
  /** Clip every gradient element to ±clipValue. */
  clipValue?: number;
  /** Exponential moving average of the weights, steps and switchable BN with this decay; the returned network holds the averages. */
  emaDecay?: number;
  candidates: CandidateConfig;
  cropPadding: number;
  flip: boolean;
  /** Calibration images for the activation steps' initialisation. */
  calibImages: number;
  /** Write a resumable checkpoint every N steps (besides every epoch); 0 = epochs only. */
  checkpointEvery: number;
  data: string;
  /**
   * Leave the first `holdOut` training images out of training (default 0). The bundled
   * calibration set is the first 1,024 Fashion-MNIST training images: with `holdOut ≥ 1024` a
   * search that scores policies on it ranks them on images this training never saw. (Scores on
   * images the network was trained on do not rank policies as unseen images do: docs/benchmarks.md.)
   */
  holdOut?: number;
}

/** Plain state besides tensors that an exact resume needs. */
export interface MpqState {
  /** Rng state at the start of the current epoch (regenerates its shuffle order). */
  epochRng: RngState;
  stepInEpoch: number;
  scheduler: SchedulerState;
  frozenHistory: Array<{ step: number; frozen: number; ratio: number }>;
}

export interface MpqStepInfo {
  epoch: number;
  epochs: number;
  step: number;
  totalSteps: number;
  loss: number;
  ceMax: number;
  distill: number;
  idm: number;
  accuracy: number;
  frozen: number;
  imagesPerSecond: number;
  lr: number;
}

export interface MpqCallbacks {
  onStart?(info: { resumedAtStep: number; totalSteps: number; layers: number; sites: number }): void;
  onStep?(info: MpqStepInfo): void;
  onScheduler?(info: { step: number; ratio: number; frozen: string[]; turbulence: Record<string, number> }): void;
  onCheckpoint?(info: { path: string; step: number; epoch: number }): void;
  shouldStop?(): boolean;
}

export interface MpqTrainResult {
  oneShot: OneShotNet;
  stopped: boolean;
  step: number;
  history: Array<Record<string, number>>;
  seconds: number;
}

/**
 * The optimiser of a run: SGD (Nesterov) with an optional linear warm-up and a cosine decay to
 * `lrMin`, weight decay on float kernels only; with `stepLr`, the quantizer steps on their own
 * Adam (constant learning rate).
 */
export function makeOptimizer(c: MpqTrainConfig, totalSteps: number, stepsPerEpoch: number): Optimizer {
  const decay = cosine(c.lr, c.lrMin ?? 0);
  const warm = Math.min(1, ((c.warmupEpochs ?? 0) * stepsPerEpoch) / Math.max(1, totalSteps));
  const weights = sgd({
    lr: warm > 0 ? warmup(warm, c.lr, decay) : decay,
    totalSteps,
    momentum: c.momentum,
    nesterov: true,
    weightDecay: c.weightDecay,
    // Weight decay on float kernels only: never on quantizer steps or switchable BN.
    decay: (key, v) => v.rank > 1 && !key.startsWith('q/') && !key.startsWith('sbn/'),
  });
  if (c.stepLr === undefined) return weights;
  const isStep = (key: string) => key.startsWith('q/');
  return partitioned([
    { name: 'weights', select: (key) => !isStep(key), optimizer: weights },
    { name: 'steps', select: isStep, optimizer: adam({ lr: c.stepLr }) },
  ]);
}

const EMA_PREFIX = 'ema/';

/**
 * Checks that holding out the first `holdOut` images of `set` leaves some to train on (before any
 * work: a caller can check its flag, named `name`, without copying the set).
 */
export function checkHoldOut(set: LabeledSet, holdOut: number, name = 'holdOut'): void {
  if (!Number.isInteger(holdOut) || holdOut < 0) throw new LowbitError('E_ARG', `${name} must be an integer ≥ 0, got ${String(holdOut)}`);
  if (holdOut >= set.size) throw new LowbitError('E_ARG', `${name} ${holdOut} leaves none of the ${set.size} training images of ${set.name} to train on`);
}

/** The images a one-shot training trains on: `set` without its first `holdOut` (see {@link checkHoldOut}). */
export function trainingImages(set: LabeledSet, holdOut: number): LabeledSet {
  checkHoldOut(set, holdOut);
  if (holdOut === 0) return set;
  return subset(set, Int32Array.from({ length: set.size - holdOut }, (_, i) => holdOut + i), `${set.name}[${holdOut}:]`);
}

/**
 * The settings a resume must repeat (anything else given differently would be silently replaced by
 * the checkpoint's), with the `lowbit mpq train` flag that sets each. The recipe options (from
 * `warmupEpochs` on) are absent in checkpoints of earlier versions, which means off.
 */
const RESUME_SETTINGS = [
  ['epochs', '--epochs'],
  ['stepsPerEpoch', '--steps-per-epoch'],
  ['batchSize', '--batch'],
  ['seed', '--seed'],
  ['lr', '--lr'],
  ['momentum', '--momentum'],
  ['weightDecay', '--weight-decay'],
  ['k', '--k'],
  ['idmWeight', '--idm-weight'],
  ['scheduler', 'the scheduler (--no-scheduler)'],
  ['schedulerPeriod', '--scheduler-period'],
  ['freezeStart', 'freezeStart'],
  ['freezeEnd', 'freezeEnd'],
  ['turbulenceThreshold', 'turbulenceThreshold'],
  ['candidates', '--bits'],
  ['cropPadding', '--crop-padding'],
  ['flip', 'flipping (--no-flip)'],
  ['warmupEpochs', '--warmup-epochs'],
  ['lrMin', '--lr-min'],
  ['stepLr', '--step-lr'],
  ['clipValue', '--clip'],
  ['emaDecay', '--ema'],
  ['freezeActivations', '--freeze-abits'],
  ['holdOut', '--hold-out'],
] as const satisfies ReadonlyArray<ResumeSetting<MpqTrainConfig>>;
const emaCheckpoint = (ema: ExponentialMovingAverage | null) => (ema ? Object.fromEntries(Object.entries(ema.state()).map(([k, t]) => [`${EMA_PREFIX}${k}`, t])) : {});

/** What the EMA averages: every trainable variable and the quantization state (steps, switchable BN incl. statistics). */
function emaVariables(o: OneShotNet): Record<string, tf.Variable> {
  return { ...o.trainable(), ...o.quantState() };
}

/** Weight-candidate sets per layer: what the scheduler freezes and samples from. */
export function weightCandidates(o: OneShotNet): Record<string, number[]> {
  return Object.fromEntries([...o.layers.values()].map((l) => [l.name, l.candidates.slice()]));
}

/**
 * Turbulence of every searchable layer's weights, averaged over the candidate grids it trained
 * with during the last period: its active candidates under `scheduler` (a frozen layer's lowest
 * candidate was not trained and does not count), or all candidates without a scheduler state.
 */
export function layerTurbulence(o: OneShotNet, threshold: number, scheduler?: SchedulerState): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of o.layers.values()) {
    if (l.candidates.length < 2) continue;
    const w = o.net.params[l.name]!['kernel']!;
    const active = scheduler ? activeCandidates(scheduler, l.name) : l.candidates;
    const grids = active.map((b) => ({ bits: b, step: l.state.scales[b]!, qmin: l.state.grids[b]!.qmin, qmax: l.state.grids[b]!.qmax }));
    out[l.name] = turbulence(w, grids, threshold);
  }
  return out;
}

/**
 * One-shot weight-coupled training (stage 1 of retraining-free mixed precision), starting from a
 * float network: SGD (Nesterov) with cosine decay over all steps (optionally: warm-up, a floor,
 * the quantizer steps on their own Adam, gradient clipping, an EMA of the weights — see
 * {@link MpqTrainConfig}), seeded shuffling and augmentation, the bit-width scheduler every
 * `schedulerPeriod` steps, checkpoints (network, quantizer steps, switchable BN, optimiser,
 * scheduler, RNG, EMA) every epoch and every `checkpointEvery` steps, exact resume.
 */
export async function trainOneShot(o: {
  config: MpqTrainConfig;
  float: Network;
  train: LabeledSet;
  calib: LabeledSet;
  outDir: string;
  resume: boolean;
  callbacks?: MpqCallbacks;
  /** Threads to split every batch over (data parallelism, batch norm synchronised; default 1). */
  threads?: number;
  /** Aborting acts like `callbacks.shouldStop` returning true: stop after the current step, saved as a step checkpoint, `stopped: true` (`resume` continues from it). */
  signal?: AbortSignal;
}): Promise<MpqTrainResult> {
  const ckptDir = join(o.outDir, 'checkpoints');
  let config = o.config;
  if (!Number.isInteger(config.k) || config.k < 1)
    throw new LowbitError('E_ARG', `k (random-bit forwards per step) must be an integer >= 1, got ${config.k}: with none only the max-bit sub-network is trained`);
  const train = trainingImages(o.train, config.holdOut ?? 0);
  const fullSteps = batchCount(train.size, config.batchSize, true);
  if (fullSteps === 0) throw new LowbitError('E_ARG', `batch size ${config.batchSize} is larger than the training set (${train.size} images${config.holdOut ? ` after holding out ${config.holdOut}` : ''})`);
  const stepsPerEpoch = config.stepsPerEpoch > 0 ? Math.min(config.stepsPerEpoch, fullSteps) : fullSteps;
  const totalSteps = stepsPerEpoch * config.epochs;
  let oneShot: OneShotNet;
  let optimizer: Optimizer;
  let state: TrainState<MpqTrainConfig> & { mpq: MpqState };
  let ema: ExponentialMovingAverage | null = null;
  if (o.resume && hasCheckpoint(ckptDir)) {
    const ck = loadCheckpoint<MpqTrainConfig>(ckptDir);
    const saved = ck.state as TrainState<MpqTrainConfig> & { mpq: MpqState };
    checkResumeSettings(saved.config, o.config, RESUME_SETTINGS, ck.path);
    config = saved.config;
    oneShot = createOneShotNet(ck.net, config.candidates);
    disposeNetwork(ck.net);
    if (!ck.extra) throw new LowbitError('E_CHECKPOINT', `${ck.path}: no one-shot state (extra.bin); is this a 'lowbit mpq train' checkpoint?`);
    const emaState = Object.fromEntries(Object.entries(ck.extra).filter(([k]) => k.startsWith(EMA_PREFIX)).map(([k, t]) => [k.slice(EMA_PREFIX.length), t]));
    oneShot.loadQuantState(Object.fromEntries(Object.entries(ck.extra).filter(([k]) => !k.startsWith(EMA_PREFIX))));
    if (config.emaDecay) {
      ema = new ExponentialMovingAverage(emaVariables(oneShot), config.emaDecay);
      ema.loadState(emaState);
    }
    tf.dispose(Object.values(ck.extra));
    optimizer = makeOptimizer(config, totalSteps, stepsPerEpoch);
    optimizer.loadState(ck.optimizer);
    tf.dispose(Object.values(ck.optimizer.tensors));
    state = saved;
  } else {
    if (o.resume) throw new LowbitError('E_NO_CHECKPOINT', `--resume: no checkpoint in '${ckptDir}'`);
    oneShot = createOneShotNet(o.float, config.candidates);
    const calib = fixedBatches(o.calib, 0, Math.min(config.calibImages, o.calib.size), 256);
    try {
      calibrateOneShot(oneShot, calib);
    } finally {
      disposeBatches(calib);
    }
    optimizer = makeOptimizer(config, totalSteps, stepsPerEpoch);
    if (config.emaDecay) ema = new ExponentialMovingAverage(emaVariables(oneShot), config.emaDecay);
    const rng = new Rng(config.seed);
    const epochRng = new Rng(rng.int(0x7fffffff)).state();
    state = {
      epoch: 0,
      step: 0,
      rng: rng.state(),
      config,
      history: [],
      elapsedSeconds: 0,
      mpq: { epochRng, stepInEpoch: 0, scheduler: createScheduler(weightCandidates(oneShot)), frozenHistory: [] },
    };
  }
  o.callbacks?.onStart?.({ resumedAtStep: state.step, totalSteps, layers: oneShot.layers.size, sites: oneShot.sites.size });

  const save = async (name?: string) => {
    const path = await saveCheckpoint(ckptDir, oneShot.net, optimizer, state, 2, { ...(name ? { name } : {}), extra: { ...oneShot.quantState(), ...emaCheckpoint(ema) } });
    o.callbacks?.onCheckpoint?.({ path, step: state.step, epoch: state.epoch });
  };
  let stopped = false;
  const periods = Math.max(1, Math.ceil(totalSteps / config.schedulerPeriod));
  const threads = Math.min(o.threads ?? 1, config.batchSize);
  const replicas: OneShotReplicas | null = threads > 1 ? await startOneShotReplicas(oneShot, threads) : null;
  try {
  while (state.epoch < config.epochs && !stopped) {
    const order = epochOrder(train.size, Rng.fromState(state.mpq.epochRng));
    const rng = Rng.fromState(state.rng);
    const t0 = performance.now();
    const elapsed0 = state.elapsedSeconds;
    const clock = () => {
      state.elapsedSeconds = elapsed0 + (performance.now() - t0) / 1000;
    };
    let lossSum = 0;
    let correct = 0;
    let seen = 0;
    for (let s = state.mpq.stepInEpoch; s < stepsPerEpoch; s++) {
      // the event loop runs between steps: a Ctrl-C handler sets what shouldStop reads
      await yieldToEventLoop();
      if (o.callbacks?.shouldStop?.() || o.signal?.aborted) {
        stopped = true;
        // the state after the last step, as a step checkpoint: --resume continues from here, not from the last periodic one
        if (s > 0 && !(config.checkpointEvery > 0 && state.step % config.checkpointEvery === 0)) {
          clock();
          await save(`step-${String(state.step).padStart(8, '0')}`);
        }
        break;
      }
      if (config.scheduler && state.step % config.schedulerPeriod === 0 && state.step > 0) {
        const ratio = freezeRatio(Math.floor(state.step / config.schedulerPeriod), periods, { start: config.freezeStart, end: config.freezeEnd });
        const turb = layerTurbulence(oneShot, config.turbulenceThreshold, state.mpq.scheduler);
        state.mpq.scheduler = updateFreezing(state.mpq.scheduler, turb, ratio);
        const frozen = Object.entries(state.mpq.scheduler.frozen)
          .filter(([, b]) => b.length > 0)
          .map(([k]) => k);
        state.mpq.frozenHistory.push({ step: state.step, frozen: frozen.length, ratio });
        o.callbacks?.onScheduler?.({ step: state.step, ratio, frozen, turbulence: turb });
      }
      const ts = performance.now();
      const b = makeBatch(train, order.subarray(s * config.batchSize, (s + 1) * config.batchSize), { augment: { cropPadding: config.cropPadding, flip: config.flip, rng } });
      const lr = optimizer.learningRate();
      const stepOptions = {
        k: config.k,
        idmWeight: config.idmWeight,
        rng,
        scheduler: state.mpq.scheduler,
        freezeActivations: config.freezeActivations ?? false,
        ...(config.clipValue !== undefined ? { clipValue: config.clipValue } : {}),
        ctx: { step: state.step, total: totalSteps, training: true, rng },
      };
      const r = replicas ? oneShotStepParallel(oneShot, optimizer, b.x, b.y, stepOptions, replicas) : oneShotStep(oneShot, optimizer, b.x, b.y, stepOptions);
      b.x.dispose();
      b.y.dispose();
      if (!Number.isFinite(r.loss)) throw new LowbitError('E_DIVERGED', `one-shot training diverged at step ${state.step + 1}: loss is ${r.loss} (try a lower --lr)`);
      ema?.update();
      lossSum += r.loss * config.batchSize;
      correct += r.correct;
      seen += config.batchSize;
      state.step++;
      state.mpq.stepInEpoch = s + 1;
      state.rng = rng.state();
      o.callbacks?.onStep?.({
        epoch: state.epoch + 1,
        epochs: config.epochs,
        step: state.step,
        totalSteps,
        loss: lossSum / seen,
        ceMax: r.ceMax,
        distill: r.distill,
        idm: r.idm,
        accuracy: correct / seen,
        frozen: Object.values(state.mpq.scheduler.frozen).filter((f) => f.length > 0).length,
        imagesPerSecond: config.batchSize / ((performance.now() - ts) / 1000),
        lr,
      });
      if (config.checkpointEvery > 0 && state.step % config.checkpointEvery === 0 && s + 1 < stepsPerEpoch) {
        clock();
        await save(`step-${String(state.step).padStart(8, '0')}`);
      }
    }
    clock();
    if (stopped) break;
    state.epoch++;
    state.mpq.stepInEpoch = 0;
    // The next epoch's shuffle has its own stream, seeded from the main one.
    state.mpq.epochRng = new Rng(rng.int(0x7fffffff)).state();
    state.rng = rng.state();
    state.history.push({ epoch: state.epoch, loss: seen ? lossSum / seen : 0, accuracyMaxBits: seen ? correct / seen : 0, seconds: state.elapsedSeconds });
    await save();
  }
  } catch (e) {
    // a failed run (divergence, a write error…) leaves nothing behind
    optimizer.dispose();
    ema?.dispose();
    oneShot.dispose();
    throw e;
  } finally {
    await replicas?.close();
  }
  optimizer.dispose();
  if (ema) {
    // the averaged weights are the result (a stopped run resumes from its checkpoint, which has both)
    ema.swap();
    ema.dispose();
  }
  return { oneShot, stopped, step: state.step, history: state.history, seconds: state.elapsedSeconds };
}
