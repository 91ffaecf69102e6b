import { adam, cosine, LowbitError, type Optimizer, Rng, sgd, warmup, yieldToEventLoop } from '@lowbit/core';
import { batchCount, epochOrder, type LabeledSet, makeBatch } from '@lowbit/data';
import { referenceSpec } from '@lowbit/models';
import { createNetwork, disposeNetwork, type Network } from '@lowbit/nn';
import { saveNetwork } from '@lowbit/nn/node';
import { join } from 'node:path';
import { evaluateNetwork } from '../eval/evaluate.js';
import { hasCheckpoint, loadCheckpoint, saveCheckpoint, type TrainState } from './checkpoint.js';
import { startTrainReplicas, type TrainReplicas, trainStepParallel } from './data-parallel.js';
import { trainStep } from './step.js';
import { checkResumeSettings, type ResumeSetting } from '../util/resume-settings.js';

/** The settings a resume must repeat, with the `lowbit train` flag of each. */
const RESUME_SETTINGS = [
  ['model', '--model'],
  ['epochs', '--epochs'],
  ['batchSize', '--batch'],
  ['lr', '--lr'],
  ['optimizer', '--optimizer'],
  ['momentum', '--momentum'],
  ['nesterov', 'Nesterov momentum (--no-nesterov)'],
  ['weightDecay', '--weight-decay'],
  ['warmupEpochs', '--warmup'],
  ['seed', '--seed'],
  ['cropPadding', '--crop-padding'],
  ['flip', 'flipping (--no-flip)'],
  ['trainLimit', '--limit'],
] as const satisfies ReadonlyArray<ResumeSetting<TrainConfig>>;

export interface TrainConfig {
  model: string;
  epochs: number;
  batchSize: number;
  lr: number;
  optimizer: 'sgd' | 'adam';
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
  warmupEpochs: number;
  seed: number;
  cropPadding: number;
  flip: boolean;
  /** Where the training data came from (recorded in the checkpoint metadata). */
  data: string;
  /** Use only the first N training images (0 = all). */
  trainLimit: number;
}

export interface StepInfo {
  epoch: number;
  stepInEpoch: number;
  stepsPerEpoch: number;
  loss: number;
  accuracy: number;
  imagesPerSecond: number;
  lr: number;
}

export interface EpochInfo {
  epoch: number;
  epochs: number;
  trainLoss: number;
  trainAccuracy: number;
  testAccuracy: number | null;
  testLoss: number | null;
  seconds: number;
  checkpoint: string;
}

export interface TrainCallbacks {
  onStart?(info: { resumedFrom: number; stepsPerEpoch: number; epochs: number; params: Network }): void;
  onStep?(info: StepInfo): void;
  onEpoch?(info: EpochInfo): void;
  /** Checked between steps; returning true stops without writing a partial checkpoint. */
  shouldStop?(): boolean;
}

export interface TrainResult {
  net: Network;
  completedEpochs: number;
  stopped: boolean;
  history: Array<Record<string, number>>;
  modelPath: string | null;
}

function makeOptimizer(c: TrainConfig, totalSteps: number): Optimizer {
  const frac = Math.min(1, c.warmupEpochs / c.epochs);
  const schedule = warmup(frac, c.lr, cosine(c.lr, 0));
  if (c.optimizer === 'adam') return adam({ lr: schedule, totalSteps });
  return sgd({ lr: schedule, totalSteps, momentum: c.momentum, nesterov: c.nesterov, weightDecay: c.weightDecay });
}

/**
 * Trains a reference architecture with cross-entropy: seeded shuffling and augmentation,
 * (Nesterov) SGD or Adam with linear warm-up then cosine decay, a checkpoint after every epoch,
 * exact resume from the latest checkpoint in `outDir/checkpoints`.
 */
export async function trainClassifier(o: {
  config: TrainConfig;
  train: LabeledSet;
  test: LabeledSet | null;
  outDir: string;
  resume: boolean;
  callbacks?: TrainCallbacks;
  /**
   * Threads to split every batch over (data parallelism with synchronised batch norm; default
   * 1). The result equals the one-thread run up to float summation order.
   */
  threads?: number;
  /** Aborting acts like `callbacks.shouldStop` returning true: stop after the current step, `stopped: true`. */
  signal?: AbortSignal;
}): Promise<TrainResult> {
  const ckptDir = join(o.outDir, 'checkpoints');
  let config = o.config;
  let net: Network;
  let state: TrainState<TrainConfig>;
  let optimizer: Optimizer;
  const stepsPerEpoch = batchCount(o.train.size, config.batchSize, true);
  if (stepsPerEpoch === 0) throw new LowbitError('E_ARG', `batch size ${config.batchSize} is larger than the training set (${o.train.size} images)`);
  if (o.resume && hasCheckpoint(ckptDir)) {
    const ck = loadCheckpoint<TrainConfig>(ckptDir);
    try {
      checkResumeSettings(ck.state.config, o.config, RESUME_SETTINGS, ck.path);
    } catch (e) {
      disposeNetwork(ck.net);
      for (const t of Object.values(ck.optimizer.tensors)) t.dispose();
      throw e;
    }
    config = ck.state.config;
    net = ck.net;
    state = ck.state;
    optimizer = makeOptimizer(config, config.epochs * stepsPerEpoch);
    optimizer.loadState(ck.optimizer);
    for (const t of Object.values(ck.optimizer.tensors)) t.dispose();
  } else {
    if (o.resume) throw new LowbitError('E_NO_CHECKPOINT', `--resume: no checkpoint in '${ckptDir}'`);
    net = createNetwork(referenceSpec(config.model), { seed: config.seed });
    state = { epoch: 0, step: 0, rng: new Rng(config.seed).state(), config, history: [], elapsedSeconds: 0 };
    optimizer = makeOptimizer(config, config.epochs * stepsPerEpoch);
  }
  o.callbacks?.onStart?.({ resumedFrom: state.epoch, stepsPerEpoch, epochs: config.epochs, params: net });
  // a share per thread needs at least one image (on resume the batch size is the checkpoint's)
  const threads = Math.min(o.threads ?? 1, config.batchSize);
  const replicas: TrainReplicas | null = threads > 1 ? await startTrainReplicas(net, threads) : null;
  try {
    return await runEpochs(o, config, net, state, optimizer, stepsPerEpoch, ckptDir, replicas);
  } finally {
    await replicas?.close();
  }
}

async function runEpochs(
  o: { train: LabeledSet; test: LabeledSet | null; outDir: string; callbacks?: TrainCallbacks; threads?: number; signal?: AbortSignal },
  config: TrainConfig,
  net: Network,
  state: TrainState<TrainConfig>,
  optimizer: Optimizer,
  stepsPerEpoch: number,
  ckptDir: string,
  replicas: TrainReplicas | null,
): Promise<TrainResult> {
  const rng = Rng.fromState(state.rng);
  let stopped = false;
  while (state.epoch < config.epochs && !stopped) {
    const t0 = performance.now();
    const order = epochOrder(o.train.size, rng);
    let lossSum = 0;
    let correct = 0;
    let seen = 0;
    for (let s = 0; s < stepsPerEpoch; s++) {
      // the event loop runs between steps: a Ctrl-C handler sets what shouldStop reads
      await yieldToEventLoop();
      if (o.callbacks?.shouldStop?.() || o.signal?.aborted) {
        stopped = true;
        break;
      }
      const ts = performance.now();
      const b = makeBatch(o.train, order.subarray(s * config.batchSize, (s + 1) * config.batchSize), {
        augment: { cropPadding: config.cropPadding, flip: config.flip, rng },
      });
      const lr = optimizer.learningRate();
      const r = replicas ? trainStepParallel(net, optimizer, b.x, b.y, replicas) : trainStep(net, optimizer, b.x, b.y);
      b.x.dispose();
      b.y.dispose();
      if (!Number.isFinite(r.loss)) throw new LowbitError('E_DIVERGED', `training diverged at epoch ${state.epoch + 1}, step ${s + 1}: loss is ${r.loss} (try a lower --lr)`);
      lossSum += r.loss * config.batchSize;
      correct += r.correct;
      seen += config.batchSize;
      state.step++;
      o.callbacks?.onStep?.({
        epoch: state.epoch + 1,
        stepInEpoch: s + 1,
        stepsPerEpoch,
        loss: lossSum / seen,
        accuracy: correct / seen,
        imagesPerSecond: config.batchSize / ((performance.now() - ts) / 1000),
        lr,
      });
    }
    if (stopped) break;
    state.epoch++;
    const ev = o.test ? evaluateNetwork(net, o.test) : null;
    const seconds = (performance.now() - t0) / 1000;
    state.elapsedSeconds += seconds;
    state.rng = rng.state();
    const rec: Record<string, number> = { epoch: state.epoch, trainLoss: lossSum / seen, trainAccuracy: correct / seen, seconds };
    if (ev) Object.assign(rec, { testAccuracy: ev.accuracy, testLoss: ev.loss });
    state.history.push(rec);
    const checkpoint = await saveCheckpoint(ckptDir, net, optimizer, state);
    o.callbacks?.onEpoch?.({
      epoch: state.epoch,
      epochs: config.epochs,
      trainLoss: rec['trainLoss']!,
      trainAccuracy: rec['trainAccuracy']!,
      testAccuracy: ev?.accuracy ?? null,
      testLoss: ev?.loss ?? null,
      seconds,
      checkpoint,
    });
  }
  optimizer.dispose();
  let modelPath: string | null = null;
  if (!stopped && state.epoch >= config.epochs) {
    modelPath = join(o.outDir, 'model.json');
    const last = state.history[state.history.length - 1] ?? {};
    await saveNetwork(net, modelPath, {
      producedBy: 'lowbit train',
      config,
      threads: replicas ? replicas.size : 1,
      epochs: state.epoch,
      trainingSeconds: Math.round(state.elapsedSeconds),
      testAccuracy: last['testAccuracy'] ?? null,
      preprocess: { kind: 'unit' },
      history: state.history,
    });
  }
  return { net, completedEpochs: state.epoch, stopped, history: state.history, modelPath };
}
