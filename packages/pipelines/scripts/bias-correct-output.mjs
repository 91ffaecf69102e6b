#!/usr/bin/env node
// Applies bias correction to a finished `lowbit ptq` output (the model.json it wrote with
// --bias-correction off) and prints test top-1 before and after: the same result as the run with
// --bias-correction on (the correction comes after the method and changes nothing else), without
// running the method again. The images are those quantize() takes: the first
// biasCorrectionImages(net, 1024) bundled calibration images for the correction, the next as many
// for the output-error check that keeps it only when it helps (--always: no check). For A/B tables
// (docs/benchmarks.md "Bias correction").
//   node packages/pipelines/scripts/bias-correct-output.mjs PTQ_OUT/model.json FLOAT_MODEL.json [--test 10000] [--images N] [--always] [--criterion mse|kl]
import { parseArgs } from 'node:util';
import { initBackend } from '@lowbit/core';
import { bundledCalibrationSet, bundledTestSet, subset, batches } from '@lowbit/data';
import { foldBatchNorm, disposeNetwork } from '@lowbit/nn';
import { correctBias } from '@lowbit/quantizers';
import { biasCorrectionImages, evaluate, loadModel, quantizedHooks } from '@lowbit/pipelines';
import { loadEvaluable } from '@lowbit/pipelines/node';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { test: { type: 'string', default: '10000' }, images: { type: 'string' }, always: { type: 'boolean', default: false }, criterion: { type: 'string', default: 'mse' }, activations: { type: 'string', default: 'quantized' } } });
const [out, floatPath] = positionals;
if (!out || !floatPath) {
  console.error('usage: bias-correct-output.mjs PTQ_OUT/model.json FLOAT_MODEL.json [--test 10000] [--images 256]');
  process.exit(2);
}
await initBackend();
const test = { set: subset(bundledTestSet(), Number(values.test)) };
const e = await loadEvaluable(out);
if (e.activations !== 'quantized') throw new Error(`${out} is not a lowbit ptq output`);
const q = e.model;
const before = await evaluate(q, test, { reference: floatPath });
const loaded = await loadModel(floatPath);
const reference = foldBatchNorm(loaded.net);
// the calibration images the run used (the bundled set, as lowbit ptq reads it): the correction's, then the check's
const calibSet = bundledCalibrationSet();
const images = values.images ? Number(values.images) : biasCorrectionImages(reference, calibSet.size);
const rowsOf = (from, count) => {
  const xs = [];
  for (const b of batches(subset(calibSet, Array.from({ length: count }, (_, i) => from + i)), { batchSize: 64 })) {
    xs.push(b.x);
    b.y.dispose();
  }
  return xs;
};
const calib = rowsOf(0, images);
const validation = rowsOf(images, Math.min(images, calibSet.size - images));
const hooks = quantizedHooks(q.quantization);
const r = correctBias({ net: q.network, layers: new Set(Object.keys(q.quantization.layers)), forwardOptions: () => ({ activation: hooks.activation }) }, () => calib, { reference, activations: values.activations, onlyIfBetter: !values.always, criterion: values.criterion, validation: () => validation });
const after = await evaluate(q, test, { reference: floatPath });
console.log(JSON.stringify({ model: out, before: before.accuracy, after: after.accuracy, agreementBefore: before.agreement.top1, agreementAfter: after.agreement.top1, layers: r.layers.length, images: r.images, maxRelativeShift: r.maxRelativeShift, kept: r.kept, outputError: r.outputError }));
for (const x of [...calib, ...validation]) x.dispose();
disposeNetwork(reference);
e.dispose();
