import { evalContext, initBackend, LowbitError, Rng } from '@lowbit/core';
import { atomicWriteFile } from '@lowbit/core/node';
import { batches, bundledTestSet, loadFashionMnist } from '@lowbit/data';
import { disposeNetwork } from '@lowbit/nn';
import { grid, quantizeNetwork, type RangeEstimator } from '@lowbit/quantizers';
import { join } from 'node:path';
import { evaluate } from '../eval/evaluate.js';
import { bitOpsReport, sizeReport } from '../ptq/report.js';
import { loadCalibration } from '../util/calibration.js';
import { loadModelArg } from '../util/load-model.js';

export const PTQ_METHODS = ['rtn'] as const;

export interface PtqCommandOptions {
  model: string;
  method: string;
  wbits: number;
  abits: number;
  calib: string;
  calibSize: number;
  keep8bit: string;
  granularity: string;
  estimator: string;
  test: string;
  out: string | undefined;
  json: boolean;
}

export async function runPtq(o: PtqCommandOptions): Promise<void> {
  if (!(PTQ_METHODS as readonly string[]).includes(o.method)) throw new LowbitError('E_ARG', `--method must be one of ${PTQ_METHODS.join(', ')}, got '${o.method}'`);
  if (o.granularity !== 'channel' && o.granularity !== 'tensor') throw new LowbitError('E_ARG', `--granularity must be channel or tensor, got '${o.granularity}'`);
  const estimators = ['minmax', 'percentile', 'mse'];
  if (!estimators.includes(o.estimator)) throw new LowbitError('E_ARG', `--estimator must be one of ${estimators.join(', ')}, got '${o.estimator}'`);
  const keep = o.keep8bit === 'none' || o.keep8bit === '' ? [] : o.keep8bit.split(',').map((s) => s.trim());
  for (const k of keep) if (k !== 'first' && k !== 'last') throw new LowbitError('E_ARG', `--keep-8bit takes 'first', 'last', 'first,last' or 'none', got '${o.keep8bit}'`);
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
  const t0 = performance.now();
  await initBackend();
  const net = loadModelArg(o.model);
  const calib = loadCalibration(o.calib, o.calibSize, net.inputShape);
  const test = o.test === 'bundled' ? bundledTestSet() : loadFashionMnist('test', o.test);
  const log = (m: string) => {
    if (!o.json) process.stderr.write(`${m}\n`);
  };
  log(`model ${o.model}; calibration ${calib.size} images from ${calib.name}; test ${test.size} images`);
  const fp = evaluate(net, test);
  log(`fp32 top-1 ${(100 * fp.accuracy).toFixed(2)}%`);
  const calibTensors = function* () {
    for (const b of batches(calib, { batchSize: 64 })) {
      b.y.dispose();
      try {
        yield b.x;
      } finally {
        b.x.dispose();
      }
    }
  };
  const q = quantizeNetwork(net, calibTensors(), {
    wBits: o.wbits,
    aBits: o.abits,
    granularity: o.granularity,
    estimator: o.estimator as RangeEstimator,
    activationEstimator: o.estimator as RangeEstimator,
    keep8bit: keep as Array<'first' | 'last'>,
  });
  const qe = evaluate(q.net, test, { forwardOptions: q.forwardOptions(evalContext(new Rng(0))) });
  const seconds = (performance.now() - t0) / 1000;
  const report = {
    model: o.model,
    method: o.method,
    wBits: o.wbits,
    aBits: o.abits,
    granularity: o.granularity,
    estimator: o.estimator,
    keep8bit: keep,
    calibImages: calib.size,
    testImages: test.size,
    fp32Accuracy: fp.accuracy,
    quantizedAccuracy: qe.accuracy,
    accuracyDrop: fp.accuracy - qe.accuracy,
    fp32Loss: fp.loss,
    quantizedLoss: qe.loss,
    size: sizeReport(q.net, q.policy),
    bitOps: bitOpsReport(q.net, q.policy),
    seconds,
    policy: q.policy,
  };
  q.dispose();
  disposeNetwork(net);
  if (o.out) atomicWriteFile(join(o.out, 'report.json'), `${JSON.stringify(report, null, 1)}\n`);
  if (o.json) {
    console.log(JSON.stringify(report));
    return;
  }
  const kb = (b: number) => `${(b / 1024).toFixed(1)} KB`;
  console.log(
    [
      `method         ${o.method} W${o.wbits}A${o.abits} (${o.granularity} weights, ${o.estimator} ranges, 8-bit: ${keep.join(', ') || 'none'})`,
      `fp32 top-1     ${(100 * fp.accuracy).toFixed(2)}%`,
      `quantized      ${(100 * qe.accuracy).toFixed(2)}%  (${(100 * (qe.accuracy - fp.accuracy)).toFixed(2)} pt)`,
      `layer weights  ${kb(report.size.fp32Bytes)} fp32 → ${kb(report.size.quantizedBytes)} (${report.size.ratio.toFixed(1)}× smaller)`,
      `BitOps/image   ${(report.bitOps.fp32 / 1e9).toFixed(2)} G → ${(report.bitOps.quantized / 1e9).toFixed(3)} G`,
      `wall time      ${seconds.toFixed(1)} s`,
      ...(o.out ? [`report         ${join(o.out, 'report.json')}`] : []),
    ].join('\n'),
  );
}
