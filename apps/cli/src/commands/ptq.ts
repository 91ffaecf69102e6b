import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { evalContext, initBackend, LowbitError, Rng } from '@lowbit/core';
import { atomicWriteFile } from '@lowbit/core/node';
import { batches } from '@lowbit/data';
import * as tf from '@tensorflow/tfjs-core';
import { analyze, forward, type Network } from '@lowbit/nn';
import { disposeNetwork } from '@lowbit/nn';
import { type ReconstructionSnapshot, reconstruct } from '@lowbit/nwq-reconstruct';
import { type PtqReplicas, startPtqReplicas } from '../ptq/data-parallel.js';
import { keepList, loadPtqInputs, type PtqSetupOptions, prepareReconstruction, ptqPlan } from '../ptq/setup.js';
import { grid } from '@lowbit/quantizers';
import { evaluate } from '../eval/evaluate.js';
import type { planMethod } from '../ptq/methods.js';
import { saveQuantized } from '../ptq/quantized-checkpoint.js';
import { bitOpsReport, sizeReport } from '../ptq/report.js';
import type { loadCalibration } from '../util/calibration.js';
import { tfjsOrigin } from '../util/load-model.js';
import { channelOrder, type inputRange, loadTestSet } from '../util/test-data.js';
import { Progress } from '../util/progress.js';
import { onStopRequest } from '../util/stop-request.js';

export interface PtqCommandOptions extends PtqSetupOptions {
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

/** Everything that must match for `--resume` to continue a run exactly. */
export function runKey(o: Pick<PtqCommandOptions, 'model' | 'wbits' | 'abits' | 'calib' | 'calibSize' | 'keep8bit' | 'granularity' | 'estimator' | 'seed' | 'channelOrder' | 'inputRange'>, plan: ReturnType<typeof planMethod>) {
  // channelOrder and inputRange only when not the default, so states saved before the options existed still resume
  const range = o.inputRange.replace(/\s+/g, '');
  return {
    model: o.model,
    wbits: o.wbits,
    abits: o.abits,
    calib: o.calib,
    calibSize: o.calibSize,
    keep8bit: o.keep8bit,
    granularity: o.granularity,
    estimator: o.estimator,
    seed: o.seed,
    plan,
    ...(o.channelOrder === 'bgr' ? { channelOrder: 'bgr' } : {}),
    ...(range !== '0,1' ? { inputRange: range } : {}),
  };
}

export async function runPtq(o: PtqCommandOptions): Promise<void> {
  // validate everything before any work
  for (const [flag, b] of [
    ['--wbits', o.wbits],
    ['--abits', o.abits],
  ] as const) {
    try {
      grid(b, true);
    } catch (e) {
      throw new LowbitError('E_BITS', `${flag}: ${(e as Error).message}`);
    }
  }
  const plan = ptqPlan(o);
  if (o.granularity !== 'channel' && o.granularity !== 'tensor') throw new LowbitError('E_ARG', `--granularity must be channel or tensor, got '${o.granularity}'`);
  const estimators = ['minmax', 'percentile', 'mse'];
  if (!estimators.includes(o.estimator)) throw new LowbitError('E_ARG', `--estimator must be one of ${estimators.join(', ')}, got '${o.estimator}'`);
  const order = channelOrder(o.channelOrder);
  const keep = keepList(o.keep8bit);
  for (const k of keep as string[]) if (k !== 'first' && k !== 'last') throw new LowbitError('E_ARG', `--keep-8bit takes 'first', 'last', 'first,last' or 'none', got '${o.keep8bit}'`);
  const out = o.out ?? join('runs', 'ptq', `${o.model.replace(/[^\w.-]+/g, '_')}-${o.method}-w${o.wbits}a${o.abits}`);
  const key = runKey(o, plan);
  let resume: ReconstructionSnapshot | undefined;
  if (o.resume) {
    const p = join(out, STATE_FILE);
    if (!existsSync(p)) throw new LowbitError('E_NO_CHECKPOINT', `--resume: no saved reconstruction state in '${p}'`);
    const saved = JSON.parse(readFileSync(p, 'utf8')) as { key: unknown; snapshot: ReconstructionSnapshot };
    if (JSON.stringify(saved.key) !== JSON.stringify(key)) throw new LowbitError('E_RESUME', `--resume: '${p}' was written by a run with other settings; use the same command as that run`);
    resume = saved.snapshot;
  }

  const t0 = performance.now();
  await initBackend();
  const inputs = loadPtqInputs(o);
  const { net, calib, preprocess } = inputs;
  const numOutputs = analyze(net).outputShape[0]!;
  const { set: test, note: testNote } = loadTestSet(o.test, net.inputShape, numOutputs, o.testLimit, order);
  const progress = new Progress();
  const log = (m: string) => {
    if (!o.json) progress.log(m);
  };
  log(`model ${o.model}; calibration ${calib.size} images (${calib.name}); ${test ? `test ${test.size} images` : testNote}`);
  const fp = test ? evaluate(net, test, { preprocess }) : null;
  if (fp) log(`fp32 top-1 ${(100 * fp.accuracy).toFixed(2)}%`);

  const { q, calibration, config, mixer } = prepareReconstruction(o, inputs);
  // the other threads rebuild the same quantized network from the options while this one evaluates
  const threads = config ? Math.min(o.threads, config.batchSize, calib.size) : 1;
  const replicas = threads > 1 ? startPtqReplicas(o, q, threads, resume ?? null) : null;
  // a start-up failure surfaces where it is awaited, below
  replicas?.catch(() => undefined);
  let recon: { seconds: number; iterations: number; units: number } | null = null;
  let stopped = false;
  if (plan.config && config) {
    const stop = onStopRequest('the state is saved for --resume');
    const saveState = (s: ReconstructionSnapshot) => atomicWriteFile(join(out, STATE_FILE), JSON.stringify({ key, snapshot: s }));
    let group: PtqReplicas | null = null;
    try {
      group = replicas ? await replicas : null;
      if (group) for (let r = 1; r < group.size; r++) group.post(r, { kind: 'run' });
      const r = reconstruct({
        setup: q,
        calibration,
        config,
        ...(group ? { group: group.group } : {}),
        progressEvery: 5,
        checkpointEvery: o.checkpointEvery,
        onCheckpoint: saveState,
        shouldStop: stop.requested,
        ...(resume ? { resume } : {}),
        onProgress: (p) => {
          if (o.json) return;
          const fields: Record<string, string> = { loss: p.loss.toExponential(3) };
          for (const [k, v] of Object.entries(p.terms)) if (Object.keys(p.terms).length > 1) fields[k] = v.toExponential(2);
          if (plan.rounding === 'asoftmax') fields['τ'] = (1 + (0.01 - 1) * Math.min(1, p.step / Math.max(1, p.total - 1))).toFixed(3);
          if (plan.mixing !== 'none') fields['p'] = mixer.probability(p.step - 1, p.total).toFixed(3);
          progress.update(`${plan.method} ${p.unit} (${p.unitIndex + 1}/${p.units})`, p.step, p.total, fields);
        },
      });
      progress.done();
      stopped = r.stopped;
      recon = { seconds: r.seconds, iterations: plan.config.iterations * r.units.length, units: r.units.length };
    } finally {
      stop.dispose();
      await group?.close();
    }
  }
  if (stopped) {
    log(`stopped; resume with the same command plus --resume (state in ${join(out, STATE_FILE)})`);
    q.dispose();
    disposeNetwork(net);
    process.exitCode = 130;
    return;
  }

  const qOpts = q.forwardOptions(evalContext(new Rng(0)));
  const qe = test ? evaluate(q.net, test, { preprocess, forwardOptions: qOpts }) : null;
  const agreement = topOneAgreement(q.net, calib, preprocess, qOpts);
  const seconds = (performance.now() - t0) / 1000;
  const report = {
    model: o.model,
    method: o.method,
    wBits: o.wbits,
    aBits: o.abits,
    rounding: plan.rounding,
    mixing: plan.mixing,
    reconstruction: plan.config ? { ...plan.config, seed: o.seed } : null,
    reconstructionSeconds: recon?.seconds ?? 0,
    threads,
    granularity: o.granularity,
    estimator: o.estimator,
    keep8bit: keep,
    calibImages: calib.size,
    testImages: test?.size ?? 0,
    fp32Accuracy: fp?.accuracy ?? null,
    quantizedAccuracy: qe?.accuracy ?? null,
    accuracyDrop: fp && qe ? fp.accuracy - qe.accuracy : null,
    fp32Loss: fp?.loss ?? null,
    quantizedLoss: qe?.loss ?? null,
    testNote: testNote ?? null,
    calibrationAgreement: agreement,
    inputRange: o.inputRange,
    channelOrder: order,
    size: sizeReport(q.net, q.policy),
    bitOps: bitOpsReport(q.net, q.policy),
    seconds,
    policy: q.policy,
    output: { model: join(out, 'model.json'), report: join(out, 'report.json') },
  };
  // sourceFormat: `lowbit export` writes the TF.js format the user gave (a GraphModel stays one)
  await saveQuantized(q, join(out, 'model.json'), { producedBy: 'lowbit ptq', sourceFormat: tfjsOrigin(o.model), report: { ...report, policy: undefined } });
  atomicWriteFile(join(out, 'report.json'), `${JSON.stringify(report, null, 1)}\n`);
  q.dispose();
  disposeNetwork(net);
  if (o.json) {
    console.log(JSON.stringify(report));
    return;
  }
  const kb = (b: number) => `${(b / 1024).toFixed(1)} KB`;
  console.log(
    [
      `method         ${o.method} W${o.wbits}A${o.abits}: ${plan.rounding} rounding, ${plan.mixing} mixing${plan.config ? `, ${plan.config.granularity}-wise, ${report.reconstruction!.iterations} iterations${plan.config.granularity === 'network' ? '' : ` per ${plan.config.granularity}`}` : ''}`,
      ...(fp && qe
        ? [`fp32 top-1     ${(100 * fp.accuracy).toFixed(2)}%`, `quantized      ${(100 * qe.accuracy).toFixed(2)}%  (${(100 * (qe.accuracy - fp.accuracy)).toFixed(2)} pt)`]
        : [`accuracy       not measured: ${testNote}`]),
      `agreement      ${(100 * agreement).toFixed(2)}% of calibration images get the same top-1 class as the float model`,
      `layer weights  ${kb(report.size.fp32Bytes)} fp32 → ${kb(report.size.quantizedBytes)} (${report.size.ratio.toFixed(1)}× smaller)`,
      `BitOps/image   ${(report.bitOps.fp32 / 1e9).toFixed(2)} G → ${(report.bitOps.quantized / 1e9).toFixed(3)} G`,
      `wall time      ${seconds.toFixed(1)} s${recon ? ` (reconstruction ${recon.seconds.toFixed(1)} s)` : ''}`,
      `written        ${report.output.model}, ${report.output.report}`,
    ].join('\n'),
  );
}

/** Share of calibration images whose top-1 class is the same for the float and the quantized network. */
function topOneAgreement(net: Network, calib: ReturnType<typeof loadCalibration>, preprocess: ReturnType<typeof inputRange>, qOpts: Parameters<typeof forward>[2]): number {
  let same = 0;
  for (const b of batches(calib, { batchSize: 128, preprocess })) {
    same += tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(forward(net, b.x).output, 1), tf.argMax(forward(net, b.x, qOpts).output, 1)), 'int32')).dataSync()[0]!);
    tf.dispose([b.x, b.y]);
  }
  return same / calib.size;
}
