import { evalContext, initBackend, LowbitError, Rng, yieldToEventLoop } from '@lowbit/core';
import { type BitPolicy, disposeNetwork, encodeNetwork } from '@lowbit/nn';
import { type ProgressInfo, type ReconstructionSnapshot, reconstruct } from '@lowbit/nwq-reconstruct';
import { type BiasCorrectionReport, correctBiasAsync, type RangeEstimator, type WeightGrid } from '@lowbit/quantizers';
import { freeMemoryBytes, startQuantizeReplicas } from '#platform';
import { bitOpsReport, type SizeReport, sizeReport } from '../ptq/report.js';
import type { OptionNames } from '../ptq/methods.js';
import { topOneAgreement, topOneClasses } from './agreement.js';
import { BIAS_CHECK_IMAGES, biasCorrectionSplit, rowBatches } from './bias-correction.js';
import { type CalibrationInput, type CalibrationRows, readCalibration } from './calibration-data.js';
import { loadModel, type ModelSource } from './model-source.js';
import { defaultCacheMB, type MemoryPlan, planOf, prepareRun } from './prepare.js';
import { type IterationSchedule, measureConvGflops, type SpeedReport, speedReport } from './speed.js';
import { QuantizedModel } from './quantized-model.js';
import { exchangeSize, type QuantizeReplicas } from './replica-types.js';
import { type PtqSettings, validateSettings } from './settings.js';

export type QuantizeMethod = 'nwq' | 'qdrop' | 'brecq' | 'adaround' | 'rtn';

/**
 * The parts of a {@link quantize} run, in order: `prepare` (activation ranges, weight grids and the
 * float model's classes on the calibration images), `reconstruct` (methods other than `rtn`; the
 * only part with state worth a checkpoint), `bias-correction` (when on) and `measure` (the final
 * agreements).
 */
export type QuantizePhase = 'prepare' | 'reconstruct' | 'bias-correction' | 'measure';

/** Progress of a {@link quantize} run, reported every few reconstruction steps. */
export interface QuantizeProgress {
  phase: 'reconstruct';
  /** The unit being reconstructed: `network`, a block or a layer name. */
  unit: string;
  unitIndex: number;
  units: number;
  step: number;
  total: number;
  loss: number;
  /** The loss's terms (output, AR, rounding) when it has several. */
  terms: Record<string, number>;
  /** ASoftmax temperature (NWQ) and mixing probability (AMixup / QDrop) at this step. */
  temperature?: number;
  mixProbability?: number;
  elapsedSeconds: number;
  /** Estimated seconds to the end of the reconstruction. */
  etaSeconds: number;
  /**
   * With `heldOut`, at the steps of `agreementEvery`: the share of the held-out images whose
   * top-1 class the model keeps if the run stopped now (rounding hardened as it stands).
   */
  heldOutAgreement?: number;
}

/**
 * What {@link quantize} does, as plain data (every field but the calibration data and the
 * callbacks is JSON). Defaults: NWQ W4A4, per-channel weights with MSE ranges, first and last
 * layer at 8 bits, the method's iterations and batch size, seed 0, one thread.
 */
export interface QuantizeConfig {
  method?: QuantizeMethod;
  wBits?: number;
  aBits?: number;
  /** Weight grid: one scale per output channel (default) or per tensor. */
  granularity?: 'channel' | 'tensor';
  /**
   * Weight grid shape: `symmetric` signed, `asymmetric` (a zero point per channel, codes
   * `[0, 2^b − 1]`, the MSE search fitting both ends; QDrop/BRECQ's grid), or `auto` (default
   * {@link DEFAULT_WEIGHT_GRID}): asymmetric below 8 bits, symmetric for 8-bit layers.
   */
  weightGrid?: WeightGrid;
  /** Range estimator of weight and activation steps (default `mse`). */
  estimator?: RangeEstimator;
  /**
   * Empirical bias correction after the method (default {@link DEFAULT_BIAS_CORRECTION}): layer by
   * layer, each quantized layer's bias absorbs the shift of its channel means against the float
   * network on calibration images (the weights and their grids do not change). It is kept unless
   * it makes significantly more of the other calibration images (up to {@link BIAS_CHECK_IMAGES})
   * disagree with the float network's top-1 class (a paired test; the report's `changedImages`).
   */
  biasCorrection?: boolean;
  /** Layers kept at 8 bits (weights and input activations); default `['first', 'last']`. */
  keep8bit?: Array<'first' | 'last'>;
  /**
   * Per-layer bits `{ layer: { w, a } }` overriding wBits / aBits / keep8bit for the layers they
   * name; also accepts a whole `policy.json` of `lowbit mpq search` (its `policy` field).
   */
  layers?: BitPolicy | { policy: BitPolicy };
  /** Calibration images, preprocessed as the model expects (see {@link CalibrationInput}). Required. */
  calibration: CalibrationInput;
  /** Use at most this many calibration images (default: all given). */
  calibrationSize?: number;
  /**
   * Images held back from calibration (same forms as `calibration`, preprocessed as the model
   * expects): the report gives the share whose top-1 class the quantized model keeps
   * (`heldOutAgreement`) — an estimate the calibration images, which the run fitted, cannot give.
   */
  heldOut?: CalibrationInput;
  /**
   * With `heldOut`: measure the held-out agreement every this many reconstruction steps and report
   * it in `onProgress` (`heldOutAgreement`); default about ten times per run, 0 only at the end.
   */
  agreementEvery?: number;
  /**
   * Reconstruction steps (per unit for block/layer methods); default the method's (NWQ 1,000),
   * scaled down for large models (`report.schedule`, see `scaledIterations`).
   */
  iterations?: number;
  /** Images per reconstruction step; default the method's (32). */
  batchSize?: number;
  /** Ablations: swap the rounding, the mixing, the AR points or the reconstruction unit of the method. */
  rounding?: 'nearest' | 'adaround' | 'asoftmax';
  mixing?: 'none' | 'qdrop' | 'amixup';
  regularize?: 'blocks' | 'layers' | 'none';
  /** How network-wise AR weighs its points: `sum` of squared errors (default) or `relative` to each target's norm. */
  arWeighting?: 'sum' | 'relative';
  reconstruction?: 'network' | 'block' | 'layer';
  weightLr?: number;
  activationLr?: number;
  /** Float targets cached for all calibration images (default) or recomputed per batch. */
  targets?: 'cache' | 'per-batch';
  /**
   * Working-set budget of one batched pass, MB (default 1024; one tfjs-wasm heap holds at most
   * 4096). Every batched pass is split into micro-batches sized from the model's activation bytes
   * to fit it; reconstruction keeps `batchSize` as its step and accumulates gradients.
   */
  memoryMB?: number;
  /**
   * Float-target cache budget in JS memory, MB (default: 40% of the free memory, 256–8192 MB; 2048
   * in a browser). Over it the targets are stored float16 when that fits, else recomputed per
   * batch. Data-parallel threads share one cache.
   */
  cacheMB?: number;
  seed?: number;
  /**
   * Data-parallel threads: Node worker threads, or in a page Web Workers (inside `serveQuantize`, with
   * `quantizeInWorker`'s `replicaWorker`, on a cross-origin isolated page). Same result as one thread up
   * to float summation order. Default 1.
   */
  threads?: number;
  onProgress?: (p: QuantizeProgress) => void;
  /** Called as each {@link QuantizePhase} starts (a CLI can, e.g., handle Ctrl-C differently where there is no state to save). */
  onPhase?: (phase: QuantizePhase) => void;
  /**
   * Aborting stops the run: during reconstruction after the current step (the promise rejects with
   * a `LowbitError` of code `E_ABORTED` after `checkpoint.save`), elsewhere at the next phase or,
   * in bias correction, the next layer. The run lets the event loop turn at each of those points,
   * so that an abort from a UI, a worker message or a signal handler gets through.
   */
  signal?: AbortSignal;
  /** Periodic snapshots for an exact resume. */
  checkpoint?: { every?: number; save(s: ReconstructionSnapshot): void; resume?: ReconstructionSnapshot };
  /** Call `initBackend()` first (default true: wasm, lowbit's gradients). */
  initBackend?: boolean;
}

/** What a run measured and decided, as JSON. */
export interface QuantizeReport {
  method: QuantizeMethod;
  wBits: number;
  aBits: number;
  rounding: string;
  mixing: string;
  reconstruction: Record<string, unknown> | null;
  reconstructionSeconds: number;
  iterations: number;
  threads: number;
  granularity: 'channel' | 'tensor';
  weightGrid: WeightGrid;
  estimator: RangeEstimator;
  keep8bit: Array<'first' | 'last'>;
  /** What bias correction did (null when off). */
  biasCorrection: BiasCorrectionReport | null;
  calibImages: number;
  /** Share of calibration images with the float model's top-1 class. */
  calibrationAgreement: number;
  /** The same share before reconstruction (round-to-nearest, also when resuming a reconstruction); null without reconstruction. */
  startAgreement: number | null;
  /**
   * Reconstruction made the calibration agreement significantly worse than where it started
   * (by more than 2 points and 2 standard errors): it diverged — a learning rate too high, most
   * likely. The model is returned as it is; `runNotes` words the warning.
   */
  diverged: boolean;
  /** Share of the `heldOut` images with the float model's top-1 class (null without `heldOut`). */
  heldOutAgreement: number | null;
  heldOutImages: number;
  size: SizeReport;
  bitOps: { fp32: number; quantized: number };
  policy: BitPolicy;
  /** How the work was split to fit the memory budget, and what it changed (a cache computed per batch). */
  memory: MemoryPlan & { notes: string[] };
  /** How the iterations were chosen: the preset's, or scaled down for a large model (null for RTN). */
  schedule: IterationSchedule | null;
  /** Reconstruction time per iteration against the FLOP floor at the measured convolution speed (null for RTN). */
  speed: SpeedReport | null;
  seconds: number;
}

export interface QuantizeResult {
  /** The quantized model: `predict`, `save`, `files`, `dispose`. */
  model: QuantizedModel;
  report: QuantizeReport;
}

/** Bias correction by default (chosen by measurement: docs/benchmarks.md "Bias correction, and NWQ on both grids, on the foreign models"). */
export const DEFAULT_BIAS_CORRECTION = true;

/** The default weight grid (chosen by measurement: docs/benchmarks.md "Weight grids"). */
export const DEFAULT_WEIGHT_GRID: WeightGrid = 'auto';

/** The settings of a config, with its defaults (exported for the CLI and the replicas). */
export function settingsOf(c: Omit<QuantizeConfig, 'calibration'>, names: OptionNames = 'config'): PtqSettings {
  const layers = c.layers && 'policy' in c.layers && typeof c.layers.policy === 'object' ? (c.layers.policy as BitPolicy) : (c.layers as BitPolicy | undefined);
  const s: PtqSettings = {
    method: c.method ?? 'nwq',
    wBits: c.wBits ?? 4,
    aBits: c.aBits ?? 4,
    weightGranularity: c.granularity ?? 'channel',
    weightGrid: c.weightGrid ?? DEFAULT_WEIGHT_GRID,
    estimator: c.estimator ?? 'mse',
    keep8bit: c.keep8bit ?? ['first', 'last'],
    seed: c.seed ?? 0,
    biasCorrection: c.biasCorrection ?? DEFAULT_BIAS_CORRECTION,
    ...(layers ? { policy: layers } : {}),
    ...(c.iterations !== undefined ? { iters: c.iterations } : {}),
    ...(c.batchSize !== undefined ? { batch: c.batchSize } : {}),
    ...(c.rounding !== undefined ? { rounding: c.rounding } : {}),
    ...(c.mixing !== undefined ? { mixing: c.mixing } : {}),
    ...(c.regularize !== undefined ? { ar: c.regularize } : {}),
    ...(c.arWeighting !== undefined ? { arWeighting: c.arWeighting } : {}),
    ...(c.reconstruction !== undefined ? { granularity: c.reconstruction } : {}),
    ...(c.weightLr !== undefined ? { lrWeights: c.weightLr } : {}),
    ...(c.activationLr !== undefined ? { lrAct: c.activationLr } : {}),
    ...(c.targets !== undefined ? { targets: c.targets } : {}),
    ...(c.memoryMB !== undefined ? { memoryMB: c.memoryMB } : {}),
    ...(c.cacheMB !== undefined ? { cacheMB: c.cacheMB } : {}),
  };
  validateSettings(s, names);
  return s;
}

/** Every field of {@link QuantizeConfig} (the compiler checks the list is complete): any other is a typo, not an option to ignore. */
const CONFIG_KEYS = ['method', 'wBits', 'aBits', 'granularity', 'weightGrid', 'estimator', 'biasCorrection', 'keep8bit', 'layers', 'calibration', 'calibrationSize', 'heldOut', 'agreementEvery', 'iterations', 'batchSize', 'rounding', 'mixing', 'regularize', 'arWeighting', 'reconstruction', 'weightLr', 'activationLr', 'targets', 'memoryMB', 'cacheMB', 'seed', 'threads', 'onProgress', 'onPhase', 'signal', 'checkpoint', 'initBackend'] as const satisfies ReadonlyArray<keyof QuantizeConfig>;
type MissingConfigKey = Exclude<keyof QuantizeConfig, (typeof CONFIG_KEYS)[number]>;
const _allConfigKeys: MissingConfigKey extends never ? true : MissingConfigKey = true;

/** Edit distance of two short strings (insertions, deletions, substitutions). */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/** The camelCase words of a name, lowercased, without a plural s: `lrWeights` and `weightLr` both give {lr, weight}. */
const words = (k: string) => new Set(k.split(/(?=[A-Z])/).map((w) => w.toLowerCase().replace(/s$/, '')));

/** The known field a misspelt one most likely meant: the same words in another order, or a near spelling. */
function closestKey(k: string): string | undefined {
  const w = words(k);
  const sameWords = CONFIG_KEYS.find((c) => {
    const cw = words(c);
    return cw.size === w.size && [...cw].every((x) => w.has(x));
  });
  if (sameWords) return sameWords;
  const ranked = CONFIG_KEYS.map((c) => [c, distance(c.toLowerCase(), k.toLowerCase())] as const).sort((a, b) => a[1] - b[1]);
  return ranked[0] && ranked[0][1] <= 2 ? ranked[0][0] : undefined;
}

/**
 * Post-training quantization of a TF.js model in one call: NWQ (network-wise reconstruction with
 * Activation Regularization, ASoftmax rounding and AMixup) or one of its baselines (QDrop, BRECQ,
 * AdaRound, RTN) on the same engine.
 *
 * ```ts
 * const { model, report } = await quantize(tfModel, { method: 'nwq', wBits: 4, aBits: 4, calibration: images });
 * model.predict(x);                     // fake-quantized, as the report measured
 * await model.save('out/', { target: 'lowbit-packed' });
 * ```
 *
 * Every bad value is a `LowbitError` naming the config field before any work starts.
 */
export async function quantize(source: ModelSource, config: QuantizeConfig): Promise<QuantizeResult> {
  if (!config || typeof config !== 'object') throw new LowbitError('E_CONFIG', 'quantize(model, config): config must be an object with at least { calibration }');
  for (const k of Object.keys(config)) {
    if (!(CONFIG_KEYS as readonly string[]).includes(k)) {
      const near = closestKey(k);
      throw new LowbitError('E_CONFIG', `quantize: config.${k} is not an option${near ? ` (did you mean config.${near}?)` : ''}; the options are ${CONFIG_KEYS.join(', ')}`);
    }
  }
  if (config.calibration === undefined || config.calibration === null) throw new LowbitError('E_CONFIG', 'config.calibration is required: a tensor [N, H, W, C], an iterable of batches, or { set, preprocess }');
  const settings = settingsOf(config);
  // resolved once here: replicas must all see the same budget
  if (settings.cacheMB === undefined) settings.cacheMB = defaultCacheMB(freeMemoryBytes());
  // the method's own options too, before any work
  planOf(settings);
  const threadsWanted = config.threads ?? 1;
  if (!(Number.isInteger(threadsWanted) && threadsWanted >= 1)) throw new LowbitError('E_CONFIG', `config.threads must be a positive integer, got ${threadsWanted}`);
  const t0 = performance.now();
  if (config.initBackend ?? true) await initBackend();
  const loaded = await loadModel(source);
  let rows: CalibrationRows;
  try {
    rows = await readCalibration(config.calibration, loaded.net.inputShape, config.calibrationSize);
  } catch (e) {
    if (loaded.owned) disposeNetwork(loaded.net);
    throw e;
  }
  let held: CalibrationRows | null = null;
  try {
    if (config.heldOut !== undefined) held = await readCalibration(config.heldOut, loaded.net.inputShape);
  } catch (e) {
    if (loaded.owned) disposeNetwork(loaded.net);
    throw e instanceof LowbitError ? new LowbitError(e.code, e.message.replace(/^calibration/, 'heldOut')) : e;
  }
  // each phase starts on a fresh turn of the event loop, so that an abort can get through
  const phase = async (p: QuantizePhase): Promise<void> => {
    await yieldToEventLoop();
    if (config.signal?.aborted) throw new LowbitError('E_ABORTED', `quantize: stopped on request before ${p === 'measure' ? 'the final measurements' : `the ${p} phase`}`);
    config.onPhase?.(p);
  };
  let run: ReturnType<typeof prepareRun>;
  try {
    await phase('prepare');
    run = prepareRun(loaded.net, rows, settings);
  } catch (e) {
    if (loaded.owned) disposeNetwork(loaded.net);
    throw e;
  }
  const { plan, q, calibration, config: rc, mixer, memory, schedule } = run;
  const convGflops = rc ? measureConvGflops() : 0;
  const notes: string[] = [];
  const threads = rc ? Math.min(threadsWanted, rc.batchSize, rows.size) : 1;
  let replicas: QuantizeReplicas | null = null;
  let recon = { seconds: 0, units: 0 };
  let biasCorrection: BiasCorrectionReport | null = null;
  let startAgreement: number | null = null;
  let floatClasses: Int32Array = new Int32Array(0);
  let heldFloatClasses: Int32Array | null = null;
  try {
    // the float model's classes, computed once for every agreement measured on the same images
    floatClasses = topOneClasses(loaded.net, rows, {}, memory.agreementBatch);
    heldFloatClasses = held ? topOneClasses(loaded.net, held, {}, memory.agreementBatch) : null;
    if (rc) {
      // where reconstruction starts, for the divergence check at the end
      startAgreement = topOneAgreement(q.net, rows, q.forwardOptions(evalContext(new Rng(0))), memory.agreementBatch, floatClasses);
      if (threads > 1) {
        const network = await encodeNetwork(loaded.net, 'replica.bin');
        // one float-target cache for all threads, each filling its share (pages are committed as written)
        const cacheArena = typeof SharedArrayBuffer === 'function' && rc.targets === 'cache' && memory.cacheMB > 0 ? sharedArena(memory.cacheMB, notes) : undefined;
        if (cacheArena) rc.cacheArena = cacheArena;
        replicas = await startQuantizeReplicas({ network, rows: rows.data, imageShape: rows.imageShape, settings, resume: config.checkpoint?.resume ?? null, ...(cacheArena ? { cacheArena } : {}) }, threads, exchangeSize(q));
        for (let r = 1; r < replicas.size; r++) replicas.post(r, { kind: 'run' });
      }
      const total = rc.iterations;
      await phase('reconstruct');
      if (config.agreementEvery !== undefined && !(Number.isInteger(config.agreementEvery) && config.agreementEvery >= 0)) throw new LowbitError('E_CONFIG', `agreementEvery must be an integer ≥ 0, got ${config.agreementEvery}`);
      const r = await reconstruct({
        setup: q,
        calibration,
        config: rc,
        ...(replicas ? { group: replicas.group } : {}),
        progressEvery: 5,
        ...(config.checkpoint?.every ? { checkpointEvery: config.checkpoint.every } : {}),
        ...(config.checkpoint ? { onCheckpoint: config.checkpoint.save } : {}),
        ...(config.checkpoint?.resume ? { resume: config.checkpoint.resume } : {}),
        ...(config.signal ? { signal: config.signal } : {}),
        onProgress: (p: ProgressInfo) => {
          if (!config.onProgress) return;
          const done = p.unitIndex * total + p.step;
          const all = p.units * total;
          // about ten measurements over the whole run (every unit's steps count), on multiples of the progress interval
          const measureAgreement = (d: number, a: number) => {
            const every = config.agreementEvery ?? Math.max(5, Math.ceil(a / 10 / 5) * 5);
            return every > 0 && (d % every === 0 || d === a);
          };
          const rate = p.elapsedSeconds / Math.max(1, done - (config.checkpoint?.resume ? config.checkpoint.resume.unitIndex * total + config.checkpoint.resume.step : 0));
          config.onProgress({
            phase: 'reconstruct',
            unit: p.unit,
            unitIndex: p.unitIndex,
            units: p.units,
            step: p.step,
            total: p.total,
            loss: p.loss,
            terms: p.terms,
            ...(plan.rounding === 'asoftmax' ? { temperature: 1 + (0.01 - 1) * Math.min(1, p.step / Math.max(1, p.total - 1)) } : {}),
            ...(plan.mixing !== 'none' ? { mixProbability: mixer.probability(p.step - 1, p.total) } : {}),
            elapsedSeconds: p.elapsedSeconds,
            etaSeconds: rate * (all - done),
            ...(held && measureAgreement(done, all) ? { heldOutAgreement: topOneAgreement(q.net, held, q.forwardOptions(evalContext(new Rng(0))), memory.agreementBatch, heldFloatClasses!) } : {}),
          });
        },
      });
      if (r.stopped) throw new LowbitError('E_ABORTED', 'quantize: stopped on request after the current step (the state went to checkpoint.save)');
      recon = { seconds: r.seconds, units: r.units.length };
      notes.push(...r.notes);
    }
    if (settings.biasCorrection) {
      // fitted on the first calibration images; kept unless it makes significantly more of the remaining ones
      // (up to 1,024; the same ones when there are no others) disagree with the float model's top-1 class
      const { fit: images, check } = biasCorrectionSplit(q.net, rows.size);
      await phase('bias-correction');
      biasCorrection = await correctBiasAsync(q, () => rowBatches(rows, memory.statsBatch, images), {
        criterion: 'agreement',
        validation: () => rowBatches(rows, memory.statsBatch, check.count, check.from),
        ...(config.signal ? { signal: config.signal } : {}),
      });
    }
    await phase('measure');
  } catch (e) {
    q.dispose();
    if (loaded.owned) disposeNetwork(loaded.net);
    throw e;
  } finally {
    await replicas?.close();
  }
  const agreement = topOneAgreement(q.net, rows, q.forwardOptions(evalContext(new Rng(0))), memory.agreementBatch, floatClasses);
  const heldOutAgreement = held ? topOneAgreement(q.net, held, q.forwardOptions(evalContext(new Rng(0))), memory.agreementBatch, heldFloatClasses!) : null;
  const model = QuantizedModel.fromQuantizedNetwork(q, loaded.format);
  const report: QuantizeReport = {
    method: settings.method as QuantizeMethod,
    wBits: settings.wBits,
    aBits: settings.aBits,
    rounding: plan.rounding,
    mixing: plan.mixing,
    reconstruction: plan.config ? { ...plan.config, seed: settings.seed } : null,
    reconstructionSeconds: recon.seconds,
    iterations: plan.config ? plan.config.iterations * recon.units : 0,
    threads,
    granularity: settings.weightGranularity,
    weightGrid: settings.weightGrid,
    estimator: settings.estimator,
    keep8bit: settings.keep8bit,
    biasCorrection,
    calibImages: rows.size,
    calibrationAgreement: agreement,
    startAgreement,
    diverged: startAgreement !== null && startAgreement - agreement > Math.max(0.02, 2 * Math.sqrt((startAgreement * (1 - startAgreement)) / rows.size)),
    heldOutAgreement,
    heldOutImages: held?.size ?? 0,
    size: sizeReport(q.net, q.policy),
    bitOps: bitOpsReport(q.net, q.policy),
    policy: q.policy,
    memory: { ...memory, notes },
    schedule,
    speed: rc && schedule ? speedReport(recon.seconds, rc.iterations, Math.min(rc.batchSize, rows.size), schedule.macsPerImage, threads, convGflops) : null,
    seconds: (performance.now() - t0) / 1000,
  };
  q.dispose();
  if (loaded.owned) disposeNetwork(loaded.net);
  return { model, report };
}

/**
 * The shared float-target cache of a data-parallel run, `cacheMB` large if the platform gives
 * that much in one SharedArrayBuffer (Node commits pages as they are written; a browser tab may
 * refuse 2 GB): otherwise halved until it does, down to 64 MB, with a note; below that, none
 * (each thread then computes its targets).
 */
function sharedArena(cacheMB: number, notes: string[]): SharedArrayBuffer | undefined {
  for (let mb = cacheMB; mb >= Math.min(64, cacheMB); mb = Math.floor(mb / 2)) {
    try {
      const arena = new SharedArrayBuffer(Math.floor(mb * 2 ** 20));
      if (mb < cacheMB) notes.push(`the shared float-target cache is ${mb} MB: ${cacheMB} MB could not be allocated here`);
      return arena;
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
    }
  }
  notes.push(`no shared float-target cache: not even ${Math.min(64, cacheMB)} MB could be allocated; every thread computes its float targets`);
  return undefined;
}
