import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend, LowbitError } from '@lowbit/core';
import { atomicWriteFile, type PreparedOutputDir, prepareOutputDir, removeIfUnused, samePath } from '@lowbit/core/node';
import { analyze, disposeNetwork, countParams } from '@lowbit/nn';
import {
  channelOrder,
  DEFAULT_CALIBRATION_IMAGES,
  evaluateNetwork,
  imageFit,
  inputRange,
  keepList,
  loadCalibration,
  loadCalibrationSplit,
  loadFloatModelArg,
  loadTestSet,
  type MethodPlan,
  planMethod,
  progressFields,
  quantize,
  readPtqState,
  divergenceWarning,
  runNotes,
  quantizedHooks,
  settingsOf,
  tfjsOrigin,
  writePtqState,
} from '@lowbit/pipelines/node';
import { Progress } from '../util/progress.js';
import { onStopRequest } from '../util/stop-request.js';

/** The options of `lowbit ptq`. */
export interface PtqCommandOptions {
  model: string;
  /** Allow --out to be the folder of an input (files there may be replaced). */
  force?: boolean;
  method: string;
  wbits: number;
  abits: number;
  iters?: number;
  batch?: number;
  calib: string;
  calibSize?: number;
  heldout?: string;
  keep8bit: string;
  granularity: string;
  weightGrid: string;
  biasCorrection?: boolean;
  estimator: string;
  rounding?: string;
  mixing?: string;
  ar?: string;
  arWeighting?: string;
  recon?: string;
  lrWeights?: number;
  lrAct?: number;
  targets?: string;
  /** Working-set budget of one batched pass, MB. */
  memoryMb: number;
  /** Float-target cache budget, MB. */
  cacheMb?: number;
  seed: number;
  inputRange: string;
  channelOrder: string;
  fit: string;
  test: string;
  testLimit: number;
  out: string | undefined;
  resume: boolean;
  checkpointEvery: number;
  json: boolean;
  /** Threads to split every reconstruction batch over (data parallelism). */
  threads: number;
}

const STATE_FILE = 'ptq-state.json';

/** The method plan of a `lowbit ptq` run (`--recon` overrides the preset's granularity). */
export function ptqPlan(o: Pick<PtqCommandOptions, 'method' | 'iters' | 'batch' | 'rounding' | 'mixing' | 'ar' | 'arWeighting' | 'recon' | 'lrWeights' | 'lrAct' | 'targets'>): MethodPlan {
  return planMethod(o.method, { ...o, granularity: o.recon });
}

/** Everything that must match for `--resume` to continue a run exactly. */
export function runKey(o: Pick<PtqCommandOptions, 'model' | 'wbits' | 'abits' | 'calib' | 'calibSize' | 'keep8bit' | 'granularity' | 'weightGrid' | 'estimator' | 'seed' | 'channelOrder' | 'inputRange'> & { fit?: string }, plan: MethodPlan) {
  // channelOrder and inputRange only when not the default, so states saved before the options existed still resume
  const range = o.inputRange.replace(/\s+/g, '');
  return {
    model: o.model,
    wbits: o.wbits,
    abits: o.abits,
    calib: o.calib,
    calibSize: o.calibSize ?? DEFAULT_CALIBRATION_IMAGES,
    keep8bit: o.keep8bit,
    granularity: o.granularity,
    ...(o.weightGrid !== 'symmetric' ? { weightGrid: o.weightGrid } : {}),
    estimator: o.estimator,
    seed: o.seed,
    plan,
    ...(o.channelOrder === 'bgr' ? { channelOrder: 'bgr' } : {}),
    ...(o.fit === 'crop' ? { fit: 'crop' } : {}),
    ...(range !== '0,1' ? { inputRange: range } : {}),
  };
}

export async function runPtq(o: PtqCommandOptions): Promise<void> {
  // validate everything before any work
  const plan = ptqPlan(o);
  const keep = keepList(o.keep8bit);
  if (o.heldout !== undefined && o.heldout.trim() === '') throw new LowbitError('E_ARG', '--heldout is empty: give a folder of images (or bundled, or a Fashion-MNIST directory), or omit it');
  if (o.memoryMb !== undefined && o.memoryMb > 4096) throw new LowbitError('E_ARG', `--memory-mb ${o.memoryMb} is more than one wasm heap holds (4096 MB); give at most 4096`);
  settingsOf(settingsConfig(o, keep), 'flags');
  const order = { channelOrder: channelOrder(o.channelOrder), fit: imageFit(o.fit) };
  const out = o.out ?? join('runs', 'ptq', `${o.model.replace(/[^\w.-]+/g, '_')}-${o.method}-w${o.wbits}a${o.abits}`);
  const statePath = join(out, STATE_FILE);
  const key = runKey(o, plan);
  const resume = o.resume ? readPtqState(statePath, key) : undefined;
  // an unfinished run's state is not thrown away by a new run in the same folder (a complete run removes its state)
  if (!o.resume && !o.force && existsSync(statePath)) {
    throw new LowbitError('E_OUT', `--out ${out}: holds the resume state of an unfinished ptq run (${STATE_FILE}); continue it with --resume and the same settings, choose another --out, or pass --force to start over`);
  }

  // held-out images are other images than the calibration ones (the report calls them "never seen")
  if (o.heldout !== undefined && samePath(o.heldout, o.calib)) {
    throw new LowbitError('E_ARG', `--heldout ${o.heldout} is the --calib set: its images include the calibration ones; give other images, or omit --heldout to hold back the --calib images after --calib-size`);
  }
  const t0 = performance.now();
  await initBackend();
  const net = loadFloatModelArg(o.model, 'lowbit ptq');
  const { calib, rest } = loadCalibrationSplit(o.calib, o.calibSize, net.inputShape, order, o.heldout ? 0 : 512);
  const held = o.heldout ? loadCalibration(o.heldout, undefined, net.inputShape, order) : rest;
  const preprocess = inputRange(o.inputRange, net.inputShape[net.inputShape.length - 1]!);
  const numOutputs = analyze(net).outputShape[0]!;
  const { set: test, note: testNote } = loadTestSet(o.test, net.inputShape, numOutputs, o.testLimit, order);
  // the output directory is checked (and made) before the work: the model, its weights, the report and the resume state
  const paramBytes = 4 * countParams(net, 'all');
  let outDir: PreparedOutputDir;
  try {
    outDir = prepareOutputDir(out, { inputs: [o.model, o.calib, o.heldout ?? ''], force: o.force, expectedBytes: 3 * paramBytes + 2 ** 20 });
  } catch (e) {
    disposeNetwork(net);
    throw e;
  }
  const progress = new Progress();
  const log = (m: string): void => void (o.json || progress.log(m));
  log(`model ${o.model}; calibration ${calib.size} images (${calib.name}); ${test ? `test ${test.size} images` : testNote}`);
  if (resume) log(`resuming at step ${resume.step} of unit ${resume.unitIndex + 1} (state in ${statePath})`);
  const fp = test ? evaluateNetwork(net, test, { preprocess }) : null;
  if (fp) log(`fp32 top-1 ${(100 * fp.accuracy).toFixed(2)}%`);

  const stop = onStopRequest('the state is saved for --resume', { listening: false });
  let result: Awaited<ReturnType<typeof quantize>>;
  try {
    result = await quantize(net, {
      ...settingsConfig(o, keep),
      calibration: { set: calib, preprocess },
      ...(held ? { heldOut: { set: held, preprocess } } : {}),
      threads: o.threads,
      signal: stop.signal,
      // Ctrl-C is a stop request only while reconstruction runs (it has state to save and checks
      // between steps); elsewhere the synchronous work would not see it, so it stops the process at once
      onPhase: (phase) => (phase === 'reconstruct' ? stop.listen() : stop.mute()),
      initBackend: false,
      checkpoint: { every: o.checkpointEvery, save: (s) => writePtqState(statePath, key, s), ...(resume ? { resume } : {}) },
      onProgress: (p) => {
        if (o.json) return;
        progress.update(`${plan.method} ${p.unit} (${p.unitIndex + 1}/${p.units})`, p.step, p.total, progressFields(p));
      },
    });
  } catch (e) {
    progress.done();
    disposeNetwork(net);
    const stopped = e instanceof LowbitError && e.code === 'E_ABORTED';
    if (!stopped || !existsSync(statePath)) removeIfUnused(outDir);
    if (stopped) {
      log(existsSync(statePath) ? `stopped; resume with the same command plus --resume (state in ${statePath})` : 'stopped before any state worth keeping; nothing was written');
      process.exitCode = stop.exitCode();
      return;
    }
    // a state file that passed its checksum but does not fit this run (unit, step, sampler, variables)
    if (resume && e instanceof LowbitError && e.code === 'E_RESUME') throw new LowbitError('E_RESUME', `--resume: '${statePath}': ${e.message.replace(/^resume: /, '')}; delete it to start over`);
    throw e;
  } finally {
    stop.dispose();
  }
  progress.done();
  const { model, report: q } = result;
  const qe = test ? evaluateNetwork(model.network, test, { preprocess, forwardOptions: quantizedHooks(model.quantization) }) : null;
  // what every export computes in stock TF.js: the same weights, activations float
  const xe = test ? evaluateNetwork(model.network, test, { preprocess }) : null;
  const seconds = (performance.now() - t0) / 1000;
  const report = {
    model: o.model,
    method: o.method,
    wBits: o.wbits,
    aBits: o.abits,
    rounding: q.rounding,
    mixing: q.mixing,
    reconstruction: q.reconstruction,
    reconstructionSeconds: q.reconstructionSeconds,
    threads: q.threads,
    granularity: o.granularity,
    weightGrid: o.weightGrid,
    estimator: o.estimator,
    keep8bit: keep,
    /** Bias correction after the method (null when --bias-correction off). */
    biasCorrection: q.biasCorrection,
    calibImages: calib.size,
    testImages: test?.size ?? 0,
    fp32Accuracy: fp?.accuracy ?? null,
    quantizedAccuracy: qe?.accuracy ?? null,
    accuracyDrop: fp && qe ? fp.accuracy - qe.accuracy : null,
    /** Top-1 of the exports (`lowbit export`, `model.save`): weight-quantized, activations float. */
    exportAccuracy: xe?.accuracy ?? null,
    fp32Loss: fp?.loss ?? null,
    quantizedLoss: qe?.loss ?? null,
    testNote: testNote ?? null,
    calibrationAgreement: q.calibrationAgreement,
    /** The calibration agreement when reconstruction started (null for rtn). */
    startAgreement: q.startAgreement,
    /** Reconstruction made the calibration agreement significantly worse than at its start. */
    diverged: q.diverged,
    /** Agreement on images the run never saw (--heldout, or --calib images after the calibration ones). */
    heldOutAgreement: q.heldOutAgreement,
    heldOutImages: q.heldOutImages,
    heldOut: held?.name ?? null,
    inputRange: o.inputRange,
    channelOrder: order.channelOrder,
    fit: order.fit,
    size: q.size,
    bitOps: q.bitOps,
    /** Micro-batch sizes within --memory-mb, and what the budget changed. */
    memory: q.memory,
    /** The preset's iterations, or scaled down for a large model (`--iters` chooses). */
    schedule: q.schedule,
    /** Seconds per iteration against the FLOP floor at the measured convolution speed. */
    speed: q.speed,
    seconds,
    policy: q.policy,
    output: { model: join(out, 'model.json'), report: join(out, 'report.json') },
  };
  // sourceFormat: `lowbit export` writes the TF.js format the user gave (a GraphModel stays one)
  await model.save(out, { target: 'lowbit', metadata: { producedBy: 'lowbit ptq', sourceFormat: tfjsOrigin(o.model), report: { ...report, policy: undefined } } });
  atomicWriteFile(join(out, 'report.json'), `${JSON.stringify(report, null, 1)}\n`);
  // the run is complete: its resume state is no longer needed
  rmSync(statePath, { force: true });
  model.dispose();
  disposeNetwork(net);
  // the model is written either way; the warning goes to stderr also with --json
  const diverged = divergenceWarning(q, 'flags');
  if (diverged) console.error(`lowbit: warning: ${diverged}`);
  if (o.json) {
    console.log(JSON.stringify(report));
    return;
  }
  const kb = (b: number) => `${(b / 1024).toFixed(1)} KB`;
  const rc = plan.config;
  console.log(
    [
      `method         ${o.method} W${o.wbits}A${o.abits}: ${plan.rounding} rounding, ${plan.mixing} mixing${rc ? `, ${rc.granularity}-wise, ${q.iterations} iterations${rc.granularity === 'network' ? '' : ` per ${rc.granularity}`}` : ''}`,
      q.biasCorrection
        ? `bias           ${q.biasCorrection.kept ? 'corrected' : 'left as it was (the correction made significantly more held-back calibration images disagree with the float model)'} in ${q.biasCorrection.layers.length} layers, fitted on ${q.biasCorrection.images} calibration images${q.biasCorrection.outputError ? `; top-1 disagreement with float ${(100 * q.biasCorrection.outputError.before).toFixed(2)}% → ${(100 * q.biasCorrection.outputError.after).toFixed(2)}%${q.biasCorrection.changedImages ? ` (${q.biasCorrection.changedImages.better} images gained, ${q.biasCorrection.changedImages.worse} lost)` : ''}` : ''} (${q.biasCorrection.seconds.toFixed(1)} s)`
        : 'bias           not corrected (--bias-correction off)',
      ...(fp && qe
        ? [
            `fp32 top-1     ${(100 * fp.accuracy).toFixed(2)}%`,
            `quantized      ${(100 * qe.accuracy).toFixed(2)}%  (${(100 * (qe.accuracy - fp.accuracy)).toFixed(2)} pt)`,
            `export         ${(100 * xe!.accuracy).toFixed(2)}%  weight-only: what lowbit export writes computes in stock TF.js (activations float)`,
          ]
        : [`accuracy       not measured: ${testNote}`]),
      `agreement      ${(100 * q.calibrationAgreement).toFixed(2)}% of calibration images get the same top-1 class as the float model${q.startAgreement !== null ? ` (${(100 * q.startAgreement).toFixed(2)}% when reconstruction started)` : ''}`,
      q.heldOutAgreement !== null
        ? `held out       ${(100 * q.heldOutAgreement).toFixed(2)}% of ${q.heldOutImages} images the run never saw (${held!.name})`
        : 'held out       not measured: give --heldout <images>, or --calib with more images than --calib-size',
      `layer weights  ${kb(q.size.fp32Bytes)} fp32 → ${kb(q.size.quantizedBytes)} (${q.size.ratio.toFixed(1)}× smaller)`,
      `BitOps/image   ${(q.bitOps.fp32 / 1e9).toFixed(2)} G → ${(q.bitOps.quantized / 1e9).toFixed(3)} G`,
      `wall time      ${seconds.toFixed(1)} s${rc ? ` (reconstruction ${q.reconstructionSeconds.toFixed(1)} s)` : ''}`,
      // (a divergence warning went to stderr)
      ...runNotes(q, 'flags', { warning: false }),
      `written        ${report.output.model}, ${report.output.report}`,
    ].join('\n'),
  );
}

/** The `quantize()` config fields of the command's method flags. */
function settingsConfig(o: PtqCommandOptions, keep: Array<'first' | 'last'>) {
  return {
    method: o.method as 'nwq',
    wBits: o.wbits,
    aBits: o.abits,
    granularity: o.granularity as 'channel' | 'tensor',
    weightGrid: o.weightGrid as 'auto',
    estimator: o.estimator as 'mse',
    keep8bit: keep,
    seed: o.seed,
    memoryMB: o.memoryMb,
    // the flags given (an absent flag leaves the field to quantize()'s defaults)
    ...defined({ biasCorrection: o.biasCorrection, iterations: o.iters, batchSize: o.batch, rounding: o.rounding as 'asoftmax' | undefined, mixing: o.mixing as 'amixup' | undefined, cacheMB: o.cacheMb }),
    ...defined({ arWeighting: o.arWeighting as 'sum' | undefined, regularize: o.ar as 'blocks' | undefined, reconstruction: o.recon as 'network' | undefined, weightLr: o.lrWeights, activationLr: o.lrAct, targets: o.targets as 'cache' | undefined }),
  };
}

/** `o` without its undefined fields. */
function defined<T extends object>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}

