import { join } from 'node:path';
import { initBackend, LowbitError } from '@lowbit/core';
import { atomicWriteFile, prepareOutputDir } from '@lowbit/core/node';
import { refuseEarlierRun } from '../util/earlier-run.js';
import { bundledCalibrationSet, type LabeledSet, setFingerprint, subset } from '@lowbit/data';
import { bitsToKB, kbToBits, paretoFront, policyFromKnobs, searchPath } from '@lowbit/greedy-search';
import { type BitPolicy, bitOps, disposeNetwork, weightBits, countParams } from '@lowbit/nn';
import { writeChart } from '../util/plot.js';
import { Progress } from '../util/progress.js';
import { exitOnInterrupt, onStopRequest } from '../util/stop-request.js';
import { applyPolicy, comparePredictions, evaluate, evaluatePolicyFile, evaluateNetwork, type Criterion, disposeBatches, evaluatePolicy, fixedBatches, loadOneShot, saveOneShot, type OneShotNet, type Budget, checkSearchOptions, type MpqSearchOptions, searchOneShot, uniformOneShotPolicy, type MpqTrainConfig, trainOneShot, fashionMnistTest, isFashionMnistDir, loadFloatModelArg, loadTrainData, checkHoldOut, mpqCalibration, mpqLabelledSet, oneShotPath, POLICY_FORMAT } from '@lowbit/pipelines/node';


const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

export interface MpqTrainCommandOptions {
  threads: number;
  model: string;
  data: string;
  epochs: number;
  stepsPerEpoch: number;
  batch: number;
  lr: number;
  lrMin: number;
  warmupEpochs: number;
  stepLr: number | undefined;
  clip: number | undefined;
  ema: number | undefined;
  momentum: number;
  weightDecay: number;
  k: number;
  idmWeight: number;
  scheduler: boolean;
  schedulerPeriod: number;
  freezeAbits: boolean;
  bits: string;
  seed: number;
  cropPadding: number;
  flip: boolean;
  checkpointEvery: number;
  holdOut: number;
  testLimit: number;
  out: string | undefined;
  resume: boolean;
  /** Start over in an --out holding an earlier run's checkpoints. */
  force?: boolean;
  json: boolean;
}

export function parseBits(arg: string): number[] {
  const bits = arg.split(',').map((s) => Number(s.trim()));
  if (bits.length === 0 || bits.some((b) => !Number.isInteger(b) || b < 2 || b > 8)) throw new LowbitError('E_ARG', `--bits must be a comma-separated list of integers 2..8, got '${arg}'`);
  const twice = bits.find((b, i) => bits.indexOf(b) !== i);
  if (twice !== undefined) throw new LowbitError('E_ARG', `--bits lists ${twice} twice ('${arg}'); give each candidate bit-width once`);
  // one candidate trains a single bit-width: there would be nothing for the search to choose from
  if (bits.length < 2) throw new LowbitError('E_ARG', `--bits needs at least two candidate bit-widths for mixed precision, got '${arg}'`);
  return bits.sort((a, b) => a - b);
}

/**
 * How many of the first `used` training images (the calibration images a search uses) the one-shot
 * network was trained on, from its metadata (`lowbit mpq train` trains on every training image after
 * `--hold-out`); 0 for networks without that record.
 */
function trainedOnScoreImages(metadata: Record<string, unknown>, used: number): number {
  const config = metadata['config'] as { data?: unknown; holdOut?: unknown } | undefined;
  if (metadata['producedBy'] !== 'lowbit mpq train' || typeof config?.data !== 'string') return 0;
  const heldOut = typeof config.holdOut === 'number' ? config.holdOut : 0;
  return Math.max(0, used - heldOut);
}

/** Test accuracy of the max-bits and of uniform policies, each after BN re-estimation. */
function uniformSweep(o: OneShotNet, bn: ReturnType<typeof fixedBatches>, test: LabeledSet, bits: number[]): Array<{ bits: number; accuracy: number; bitOps: number; sizeKB: number }> {
  return bits.map((b) => {
    const p = uniformOneShotPolicy(o, b);
    const r = evaluatePolicy(o, p, bn, test);
    return { bits: b, accuracy: r.accuracy, bitOps: bitOps(o.net, p), sizeKB: bitsToKB(weightBits(o.net, p)) };
  });
}

export async function runMpqTrain(o: MpqTrainCommandOptions): Promise<void> {
  const bits = parseBits(o.bits);
  if (o.k < 1 || !Number.isInteger(o.k)) throw new LowbitError('E_ARG', `--k must be an integer >= 1, got ${o.k}: with no random-bit forwards only the max-bit sub-network is trained`);
  if (o.lrMin >= o.lr) throw new LowbitError('E_ARG', `--lr-min ${o.lrMin} must be below --lr ${o.lr}`);
  if (o.warmupEpochs >= o.epochs) throw new LowbitError('E_ARG', `--warmup-epochs ${o.warmupEpochs} must be fewer than --epochs ${o.epochs}`);
  if (o.freezeAbits && !o.scheduler) throw new LowbitError('E_ARG', '--freeze-abits freezes with the bit-width scheduler; it does nothing with --no-scheduler');
  const t0 = performance.now();
  await initBackend();
  const float = loadFloatModelArg(o.model, 'lowbit mpq train');
  const { train, test: fullTest } = loadTrainData(o.data);
  checkHoldOut(train, o.holdOut, '--hold-out');
  const test = o.testLimit > 0 ? subset(fullTest, o.testLimit) : fullTest;
  const calib = bundledCalibrationSet();
  const out = o.out ?? join('runs', 'mpq', o.model.replace(/[^\w.-]+/g, '_'));
  // checked (and made) before the training: checkpoints, the one-shot network and the report
  const paramBytes = 4 * countParams(float, 'all');
  try {
    refuseEarlierRun(out, 'lowbit mpq train', o);
    prepareOutputDir(out, { inputs: [o.model], expectedBytes: 8 * paramBytes + 2 ** 20 });
  } catch (e) {
    disposeNetwork(float);
    throw e;
  }
  const config: MpqTrainConfig = {
    model: o.model,
    epochs: o.epochs,
    stepsPerEpoch: o.stepsPerEpoch,
    batchSize: o.batch,
    lr: o.lr,
    momentum: o.momentum,
    weightDecay: o.weightDecay,
    seed: o.seed,
    k: o.k,
    idmWeight: o.idmWeight,
    scheduler: o.scheduler,
    schedulerPeriod: o.schedulerPeriod,
    freezeStart: 0.5,
    freezeEnd: 0.2,
    turbulenceThreshold: 0.125,
    freezeActivations: o.freezeAbits,
    ...(o.warmupEpochs > 0 ? { warmupEpochs: o.warmupEpochs } : {}),
    ...(o.lrMin > 0 ? { lrMin: o.lrMin } : {}),
    ...(o.stepLr !== undefined ? { stepLr: o.stepLr } : {}),
    ...(o.clip !== undefined ? { clipValue: o.clip } : {}),
    ...(o.ema !== undefined ? { emaDecay: o.ema } : {}),
    candidates: { bits, depthwiseMin: 3, fixedBits: 8 },
    cropPadding: o.cropPadding,
    flip: o.flip,
    calibImages: 1024,
    checkpointEvery: o.checkpointEvery,
    data: o.data,
    ...(o.holdOut > 0 ? { holdOut: o.holdOut } : {}),
  };
  const progress = new Progress();
  const log = (m: string) => {
    if (!o.json) progress.log(m);
  };
  const fp32 = evaluateNetwork(float, test);
  log(`model ${o.model}: fp32 top-1 ${pct(fp32.accuracy)} on ${test.size} test images; training data ${train.name} (${o.holdOut > 0 ? `${train.size - o.holdOut} images; the first ${o.holdOut} held out` : `${train.size} images`})`);
  const stop = onStopRequest('the step is saved for --resume');
  // a share per thread needs at least one image
  const threads = Math.min(o.threads, o.batch);
  let r: Awaited<ReturnType<typeof trainOneShot>>;
  try {
    r = await trainOneShot({
      config,
      float,
      train,
      calib,
      outDir: out,
      resume: o.resume,
      threads,
      callbacks: {
        onStart: (i) => log(`one-shot training: ${i.layers} layers, ${i.sites} activation sites, candidates {${bits.join(',')}} (depthwise from 3, first/last at 8), K=${o.k}, IDM ${o.idmWeight || 'off'}, scheduler ${o.scheduler ? `every ${o.schedulerPeriod} steps${o.freezeAbits ? ', freezing activation bits too' : ''}` : 'off'}; ${i.totalSteps} steps${threads > 1 ? `, ${threads} threads` : ''}${i.resumedAtStep ? `, resumed at step ${i.resumedAtStep}` : ''}`),
        onStep: (s) => {
          if (o.json) return;
          progress.update(`mpq train epoch ${s.epoch}/${s.epochs}`, s.step, s.totalSteps, {
            loss: s.loss.toFixed(4),
            ce: s.ceMax.toFixed(4),
            kd: s.distill.toFixed(4),
            idm: s.idm.toExponential(2),
            acc: pct(s.accuracy),
            frozen: String(s.frozen),
            'img/s': s.imagesPerSecond.toFixed(0),
            lr: s.lr.toExponential(2),
          });
        },
        onScheduler: (s) => log(`scheduler at step ${s.step}: freeze ratio ${s.ratio.toFixed(3)}, lowest bit frozen in ${s.frozen.length} layer(s)${s.frozen.length ? `: ${s.frozen.join(', ')}` : ''}`),
        onCheckpoint: (c) => log(`checkpoint ${c.path}`),
        shouldStop: stop.requested,
      },
    });
  } finally {
    stop.dispose();
  }
  disposeNetwork(float);
  if (r.stopped) {
    log(r.step > 0 ? `stopped at step ${r.step}, saved; resume with the same command plus --resume` : 'stopped before the first step; nothing to resume');
    r.oneShot.dispose();
    process.exitCode = stop.exitCode();
    return;
  }
  const bn = fixedBatches(calib, 0, calib.size);
  const sweep = uniformSweep(r.oneShot, bn, test, bits);
  // the uniform policy at the highest candidate is the max-bits policy: no second evaluation
  const maxAcc = sweep[sweep.length - 1]!.accuracy;
  disposeBatches(bn);
  const report = {
    model: o.model,
    config,
    fp32Accuracy: fp32.accuracy,
    maxBitsAccuracy: maxAcc,
    uniform: sweep,
    testImages: test.size,
    trainingSeconds: r.seconds,
    threads,
    seconds: (performance.now() - t0) / 1000,
    steps: r.step,
    history: r.history,
    output: join(out, 'oneshot'),
  };
  // the accuracies are tied to the test images they were measured on (a search compares before copying them)
  const testSet = { name: test.name, images: test.size, fingerprint: setFingerprint(test) };
  await saveOneShot(r.oneShot, join(out, 'oneshot'), { producedBy: 'lowbit mpq train', fp32Accuracy: fp32.accuracy, maxBitsAccuracy: maxAcc, testSet, uniform: sweep, config, trainingSeconds: Math.round(r.seconds), threads });
  atomicWriteFile(join(out, 'report.json'), `${JSON.stringify(report, null, 1)}\n`);
  r.oneShot.dispose();
  if (o.json) {
    console.log(JSON.stringify(report));
    return;
  }
  // the result on stdout (progress and log lines went to stderr)
  progress.done();
  console.log(['', `fp32 ${pct(fp32.accuracy)}; one-shot weights at max bits ${pct(maxAcc)}`, ...sweep.map((s) => `uniform W${s.bits}A${s.bits} (first/last 8): ${pct(s.accuracy)}  BitOps ${(s.bitOps / 1e6).toFixed(1)} M  size ${s.sizeKB.toFixed(1)} KB`), `one-shot network: ${join(out, 'oneshot')}; report: ${join(out, 'report.json')}`].join('\n'));
}

export interface MpqSearchCommandOptions {
  model: string;
  bitops?: number;
  size?: number;
  avgBits?: number;
  uniform?: string;
  calib: string;
  calibSize: number;
  bnImages: number;
  scoreImages: number;
  criterion: string;
  bnOnScore: boolean;
  resample: boolean;
  seed: number;
  maxBits: number | undefined;
  minBits: number | undefined;
  noiseFloor: boolean;
  validateImages: number;
  phases: string;
  raise: boolean;
  fill: boolean;
  scoring: string;
  test: string;
  testLimit: number;
  compare: string | undefined;
  plot: boolean;
  plotTestLimit: number;
  out: string | undefined;
  json: boolean;
}

/** `W2A4` → { w: 2, a: 4 }, or an E_ARG error naming the option. */
function parseUniform(text: string, option: string): { w: number; a: number } {
  const m = /^W(\d)A(\d)$/i.exec(text.trim());
  if (!m) throw new LowbitError('E_ARG', `${option} must look like W2A4 (weight and activation bits of a uniform policy), got '${text}'`);
  return { w: Number(m[1]), a: Number(m[2]) };
}

function budgetOf(o: MpqSearchCommandOptions): Budget {
  const given = [o.bitops !== undefined, o.size !== undefined, o.avgBits !== undefined, o.uniform !== undefined].filter(Boolean).length;
  if (given !== 1) throw new LowbitError('E_ARG', `give exactly one budget: --bitops <G>, --size <KB>, --avg-bits <b> or --uniform W<b>A<b> (got ${given})`);
  if (o.uniform !== undefined) return { kind: 'uniform', ...parseUniform(o.uniform, '--uniform') };
  if (o.bitops !== undefined) return { kind: 'bitops', bitOps: o.bitops * 1e9 };
  if (o.size !== undefined) return { kind: 'size', bits: kbToBits(o.size) };
  return { kind: 'avg-bits', bits: o.avgBits! };
}

function policyTable(o: OneShotNet, p: BitPolicy, uniform: BitPolicy | null): string {
  const rows = [...o.layers.values()].map((l) => {
    const u = uniform?.[l.name];
    return `${l.name.padEnd(22)}${l.op.padEnd(17)}${String(p[l.name]!.w).padStart(3)}${String(p[l.name]!.a).padStart(4)}${u ? `${String(u.w).padStart(8)}${String(u.a).padStart(4)}` : ''}`;
  });
  return [`${'layer'.padEnd(22)}${'op'.padEnd(17)}  w   a${uniform ? '   unif w   a' : ''}`, ...rows].join('\n');
}

export async function runMpqSearch(o: MpqSearchCommandOptions): Promise<void> {
  const budget = budgetOf(o);
  if (o.scoring !== 'paper' && o.scoring !== 'efficiency') throw new LowbitError('E_ARG', `--scoring must be efficiency or paper, got '${o.scoring}'`);
  if (o.criterion !== 'kl' && o.criterion !== 'ce' && o.criterion !== 'error') throw new LowbitError('E_ARG', `--criterion must be kl, ce or error, got '${o.criterion}'`);
  if (o.noiseFloor && o.criterion !== 'error') throw new LowbitError('E_ARG', `--noise-floor needs --criterion error (a top-1 error has a known standard error), got --criterion ${o.criterion}`);
  if (o.resample && o.bnOnScore) throw new LowbitError('E_ARG', '--bn-on-score does not apply with --resample (every resampled batch re-estimates BN on itself)');
  const compareWith = (o.compare ?? '')
    .split(',')
    .filter((t) => t.trim())
    .map((t) => ({ name: t.trim().toUpperCase(), ...parseUniform(t, '--compare') }));
  if (o.phases !== 'weights-then-activations' && o.phases !== 'joint') throw new LowbitError('E_ARG', `--phases must be weights-then-activations or joint, got '${o.phases}'`);
  const t0 = performance.now();
  await initBackend();
  const path = oneShotPath(o.model);
  const { oneShot, metadata } = loadOneShot(path);
  const badCompare = compareWith.find((c) => !oneShot.config.bits.includes(c.w) || !oneShot.config.bits.includes(c.a));
  if (badCompare) {
    oneShot.dispose();
    throw new LowbitError('E_ARG', `--compare ${badCompare.name}: the one-shot network's candidate bits are ${oneShot.config.bits.join(', ')}`);
  }
  // with --resample, all of --calib's labelled images are read once: the calibration images are its first ones
  const resampleSet = o.resample ? mpqLabelledSet(o.calib) : null;
  const calib = mpqCalibration(o.calib, o.calibSize, resampleSet ?? undefined);
  // the search's options, checked before --out is made (knob limits, budget, image counts, the resampling pool)
  const limits = { ...(o.minBits !== undefined ? { minBits: o.minBits } : {}), ...(o.maxBits !== undefined ? { maxBits: o.maxBits } : {}) };
  const searchOptions: MpqSearchOptions = {
    budget,
    calib,
    bnImages: o.bnImages,
    scoreImages: o.scoreImages,
    bnOnScore: o.bnOnScore,
    criterion: o.criterion as Criterion,
    validateImages: o.validateImages,
    // the validation images (the first --validate-images of --calib) are never drawn for scoring
    ...(resampleSet ? { resample: { set: resampleSet, seed: o.seed, skip: o.validateImages } } : {}),
    ...limits,
    noiseFloor: o.noiseFloor,
    phases: o.phases,
    allowRaise: o.raise,
    fill: o.fill,
    scoring: o.scoring as 'paper' | 'efficiency',
  };
  try {
    checkSearchOptions(oneShot, searchOptions);
  } catch (e) {
    oneShot.dispose();
    throw e;
  }
  const fullTest = fashionMnistTest(o.test);
  const test = o.testLimit > 0 ? subset(fullTest, o.testLimit) : fullTest;
  const out = o.out ?? join('runs', 'mpq-search', `${o.model.replace(/[^\w.-]+/g, '_')}-${budget.kind === 'uniform' ? `W${budget.w}A${budget.a}` : `${budget.kind}-${budget.kind === 'bitops' ? budget.bitOps / 1e9 : budget.bits}`}`);
  // checked (and made) before the search: policy.json and the Pareto plot
  try {
    prepareOutputDir(out, { inputs: [join(path, 'model.json')], expectedBytes: 2 ** 20 });
  } catch (e) {
    oneShot.dispose();
    throw e;
  }
  const progress = new Progress();
  const log = (m: string) => {
    if (!o.json) progress.log(m);
  };
  const costKind = budget.kind === 'size' ? 'size' : 'bitops';
  log(`one-shot network ${path} (${oneShot.layers.size} layers, ${oneShot.sites.size} activation sites)`);
  // the images the search scores and validates on: the first ones of the training images
  const used = resampleSet ? resampleSet.size : calib.size;
  const overlap = trainedOnScoreImages(metadata, used);
  if (overlap > 0) {
    progress.log(
      `note: the one-shot network was trained on ${overlap} of the calibration images this search scores and validates on (Fashion-MNIST training images); scores on images a network was trained on rank policies poorly (docs/benchmarks.md, "How much can a mixed policy gain here?"). Train it with --hold-out ${used} to keep them unseen.`,
    );
  }
  const stopOnInterrupt = exitOnInterrupt('the search');
  const s = await searchOneShot(oneShot, {
    ...searchOptions,
    onStep: (t) => {
      if (!o.json) progress.log(`step ${String(t.step).padStart(3)} phase ${t.phase}: ${t.knob} ${t.from}→${t.to}  error ${t.error.toExponential(3)}  cost ${(costKind === 'size' ? bitsToKB(t.cost) : t.cost / 1e6).toFixed(2)} ${costKind === 'size' ? 'KB' : 'M'}  (${t.evaluations} evaluations)`);
    },
  }).finally(stopOnInterrupt);
  const searchSeconds = s.result.seconds;
  // final evaluations re-estimate BN on the whole calibration set (the search uses --bn-images)
  const bn = fixedBatches(calib, 0, calib.size);
  const found = evaluatePolicy(oneShot, s.result.policy, bn, test);
  // what `lowbit export --policy` ships: the same weights with float activations (stock TF.js has no activation quantization)
  const shipped = applyPolicy(oneShot, s.result.policy, bn);
  const exported = await evaluate(shipped, { set: test }, { activations: 'float' }).finally(() => shipped.dispose());
  const uniformPolicy = s.uniform;
  const uniform = uniformPolicy ? evaluatePolicy(oneShot, uniformPolicy, bn, test) : null;
  // the max-bit sub-network on this search's test images (the training report's figure may be on other images)
  const maxBits = evaluatePolicy(oneShot, oneShot.maxPolicy(), bn, test);
  const trained = metadata['testSet'] as { fingerprint?: unknown } | undefined;
  const sameTest = trained?.fingerprint === setFingerprint(test);
  const uniformCost = uniformPolicy ? s.cost(uniformPolicy) : null;
  // paired comparisons on the test set: the searched policy against each uniform one (default: the budget's)
  const budgetBits = budget.kind === 'uniform' ? { w: budget.w, a: budget.a } : budget.kind === 'avg-bits' ? { w: budget.bits, a: budget.bits } : null;
  const others = compareWith.length > 0 ? compareWith : budgetBits ? [{ name: `W${budgetBits.w}A${budgetBits.a}`, ...budgetBits }] : [];
  const comparisons = others.map((c) => {
    // the budget's own uniform policy is evaluated above already
    const isBudget = uniformPolicy !== null && budgetBits !== null && c.w === budgetBits.w && c.a === budgetBits.a;
    const policy = isBudget ? uniformPolicy : uniformOneShotPolicy(oneShot, c.w, c.a);
    const r = isBudget ? uniform! : evaluatePolicy(oneShot, policy, bn, test);
    const cost = s.cost(policy);
    return { policy: c.name, accuracy: r.accuracy, cost, fitsBudget: cost <= s.budgetValue, paired: comparePredictions(found.predictions, r.predictions, test.labels.subarray(0, found.samples)) };
  });
  // the search's own end point, when validation returned the uniform policy instead: its test accuracy too, for the record
  const endPoint = s.validation && s.result.chosen !== 'search' ? { accuracy: evaluatePolicy(oneShot, s.validation.searchPolicy, bn, test).accuracy, cost: s.cost(s.validation.searchPolicy), policy: s.validation.searchPolicy } : null;
  // Pareto plot: the search's evaluated points on the front, evaluated on (a subset of) the test set, and uniform policies
  let plot: { svg: string; png: string } | null = null;
  let curve: Array<{ cost: number; accuracy: number; kind: string; label: string }> = [];
  if (o.plot) {
    const plotTest = o.plotTestLimit > 0 ? subset(test, Math.min(o.plotTestLimit, test.size)) : test;
    // errors scored on different images (resampled rounds) do not compare: then the search's own path, else the front of all it evaluated
    const rounds = new Set(s.result.evaluated.map((p) => p.round)).size;
    const points = rounds > 1 ? searchPath(s.knobs, s.result) : paretoFront(s.result.evaluated);
    const pick = points.length <= 12 ? points : Array.from({ length: 12 }, (_, i) => points[Math.round((i * (points.length - 1)) / 11)]!);
    curve = pick.map((p) => ({ cost: p.cost, accuracy: evaluatePolicy(oneShot, policyFromKnobs(s.knobs, p.setting), bn, plotTest).accuracy, kind: rounds > 1 ? 'search path (mixed)' : 'searched (mixed)', label: '' }));
    for (const b of oneShot.config.bits) {
      const up = uniformOneShotPolicy(oneShot, b);
      curve.push({ cost: s.cost(up), accuracy: evaluatePolicy(oneShot, up, bn, plotTest).accuracy, kind: 'uniform', label: `W${b}A${b}` });
    }
    const unit = s.costKind === 'size' ? 'model size (KB)' : 'BitOps (M)';
    const scale = s.costKind === 'size' ? kbToBits(1) : 1e6;
    plot = await writeChart(join(out, 'pareto'), {
      title: `${o.model}: accuracy vs ${s.costKind === 'size' ? 'size' : 'BitOps'} on one-shot weights (${plotTest.size} test images)`,
      data: curve.map((c) => ({ ...c, cost: c.cost / scale })),
      x: { field: 'cost', title: unit },
      y: { field: 'accuracy', title: 'top-1 accuracy', format: '.1%' },
      color: 'kind',
      text: 'label',
      budget: s.budgetValue / scale,
    });
  }
  disposeBatches(bn);
  const report = {
    format: POLICY_FORMAT,
    version: 1,
    model: o.model,
    oneShot: path,
    budget: { ...budget, cost: s.costKind, value: s.budgetValue },
    costKind: s.costKind,
    accuracy: found.accuracy,
    /** Top-1 of the policy's export (`lowbit export --policy`): weight-quantized, activations float. */
    exportAccuracy: exported.accuracy ?? null,
    uniformAccuracy: uniform?.accuracy ?? null,
    /** The searched policy against uniform policies on the test images, paired (onlyA = images only the searched policy gets right). */
    comparisons,
    cost: s.result.cost,
    uniformCost,
    /** FP32 top-1 from the one-shot network's training report, when measured on these test images (else null). */
    fp32Accuracy: sameTest ? ((metadata['fp32Accuracy'] as number | undefined) ?? null) : null,
    maxBitsAccuracy: maxBits.accuracy,
    testImages: test.size,
    bnImages: o.bnImages,
    calib: o.calib,
    finalBnImages: calib.size,
    scoreImages: o.scoreImages,
    bnOnScore: o.bnOnScore,
    criterion: o.criterion as Criterion,
    resample: o.resample ? { seed: o.seed, from: o.calib } : null,
    maxBits: o.maxBits ?? null,
    minBits: o.minBits ?? null,
    noiseFloor: o.noiseFloor,
    validation: s.validation ? { images: s.validation.images, searchError: s.validation.search, uniformError: s.validation.uniform, uniformPolicy: s.validation.uniformPolicy, rivals: s.validation.rivals } : null,
    endPoint,
    phases: o.phases,
    allowRaise: o.raise,
    fill: o.fill,
    scoring: o.scoring,
    chosen: s.result.chosen,
    searchSeconds,
    evaluations: s.result.evaluations,
    forwardPasses: s.result.evaluations * 2,
    seconds: (performance.now() - t0) / 1000,
    policy: s.result.policy,
    uniformPolicy,
    trace: s.result.trace,
    pareto: curve,
    plot,
  };
  atomicWriteFile(join(out, 'policy.json'), `${JSON.stringify(report, null, 1)}\n`);
  oneShot.dispose();
  if (o.json) {
    console.log(JSON.stringify(report));
    return;
  }
  const costStr = (c: number) => (s.costKind === 'size' ? `${bitsToKB(c).toFixed(2)} KB` : `${(c / 1e6).toFixed(2)} M BitOps`);
  // the result on stdout (progress and the search's moves went to stderr)
  progress.done();
  console.log(
    [
      '',
      policyTable(oneShot, s.result.policy, uniformPolicy),
      '',
      `searched policy: top-1 ${pct(found.accuracy)} at ${costStr(s.result.cost)} (budget ${costStr(s.budgetValue)})`,
      `its export:      top-1 ${pct(exported.accuracy!)} weight-only (lowbit export --policy: stock TF.js computes float activations)`,
      ...(uniform && uniformCost !== null ? [`uniform policy:  top-1 ${pct(uniform.accuracy)} at ${costStr(uniformCost)}`] : []),
      ...comparisons.map((c) => `vs uniform ${c.policy}${c.fitsBudget ? '' : ' (over the budget)'}: ${c.paired.difference >= 0 ? '+' : ''}${(100 * c.paired.difference).toFixed(2)} pt ± ${(100 * c.paired.standardError).toFixed(2)} (${c.paired.onlyA} images only the searched policy gets right, ${c.paired.onlyB} only uniform; McNemar p = ${c.paired.pValue.toPrecision(2)})`),
      `search: ${s.result.trace.length} moves, ${s.result.evaluations} policies evaluated, ${searchSeconds.toFixed(1)} s${s.result.chosen === 'search' ? '' : ` (${s.result.chosen} had the lower ${s.validation ? 'held-out ' : ''}error and is returned)`}`,
      `policy: ${join(out, 'policy.json')}${plot ? `; plot: ${plot.svg}, ${plot.png}` : ''}`,
    ].join('\n'),
  );
}

/** `lowbit eval --policy`: the one-shot network under a searched policy, BN re-estimated on the calibration set. */
export async function evalPolicy(o: { policy: string; model?: string; data: string; testLimit?: number }) {
  await initBackend();
  if (o.data !== 'bundled' && !isFashionMnistDir(o.data, 'test')) {
    throw new LowbitError('E_ARG', `--policy is evaluated on the Fashion-MNIST test set (the one-shot networks' data): --data must be 'bundled' or a Fashion-MNIST directory with t10k-images-idx3-ubyte(.gz), got '${o.data}'`);
  }
  const full = fashionMnistTest(o.data);
  return evaluatePolicyFile(o.policy, o.testLimit ? subset(full, o.testLimit) : full, o.model && o.model !== 'resnet-fm' ? o.model : undefined);
}
