#!/usr/bin/env node
// Applies bias correction to a finished `lowbit ptq` output (the model.json it wrote with
// --bias-correction off) and prints test top-1 before and after: the same result as the run with
// --bias-correction on (the correction comes after the method and changes nothing else), without
// running the method again. The images are those quantize() takes (biasCorrectionSplit of the
// 1,024 bundled calibration images): the first for the correction, the next (up to
// BIAS_CHECK_IMAGES) for the check that keeps it unless it costs top-1 agreement with the float model (--always: no check). For A/B tables
// (docs/benchmarks.md "Bias correction").
//   node packages/pipelines/scripts/bias-correct-output.mjs PTQ_OUT/model.json FLOAT_MODEL.json [--test 10000] [--images N] [--always] [--criterion mse|kl|agreement] [--check-images N|rest]
import { parseArgs } from 'node:util';
import { initBackend } from '@lowbit/core';
import { bundledCalibrationSet, bundledTestSet, subset, batches } from '@lowbit/data';
import { foldBatchNorm, disposeNetwork, forward } from '@lowbit/nn';
import * as tf from '@tensorflow/tfjs-core';
import { correctBias } from '@lowbit/quantizers';
import { BIAS_CHECK_IMAGES, biasCorrectionSplit, evaluate, loadModel, quantizedHooks } from '@lowbit/pipelines';
import { loadEvaluable } from '@lowbit/pipelines/node';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { test: { type: 'string', default: '10000' }, images: { type: 'string' }, always: { type: 'boolean', default: false }, criterion: { type: 'string', default: 'agreement' }, 'check-images': { type: 'string' }, flags: { type: 'boolean', default: false }, activations: { type: 'string', default: 'quantized' } } });
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
const split = biasCorrectionSplit(reference, calibSet.size);
const images = values.images ? Number(values.images) : split.fit;
const rowsOf = (from, count) => {
  const xs = [];
  for (const b of batches(subset(calibSet, Array.from({ length: count }, (_, i) => from + i)), { batchSize: 64 })) {
    xs.push(b.x);
    b.y.dispose();
  }
  return xs;
};
const calib = rowsOf(0, images);
// the check's images: the rest of the calibration set up to BIAS_CHECK_IMAGES (quantize()'s rule), or --check-images N | rest
const checkCount = values['check-images'] === 'rest' ? calibSet.size - images : values['check-images'] ? Number(values['check-images']) : values.images ? Math.min(BIAS_CHECK_IMAGES, calibSet.size - images) : split.check.count;
const validation = rowsOf(values.images || values['check-images'] ? images : split.check.from, checkCount);
const hooks = quantizedHooks(q.quantization);
// --flags: per-image top-1 disagreement with the float model on every held-back calibration image, before and after
// the correction (kept regardless), so that any check rule and check-set size can be evaluated from one run
const heldBack = values.flags ? rowsOf(images, calibSet.size - images) : [];
const disagreement = () => heldBack.flatMap((x) => Array.from(tf.tidy(() => tf.cast(tf.notEqual(tf.argMax(forward(reference, x).output, 1), tf.argMax(forward(q.network, x, { activation: hooks.activation }).output, 1)), 'int32').dataSync())));
const flagsBefore = values.flags ? disagreement() : null;
const r = correctBias({ net: q.network, layers: new Set(Object.keys(q.quantization.layers)), forwardOptions: () => ({ activation: hooks.activation }) }, () => calib, { reference, activations: values.activations, onlyIfBetter: !values.always, criterion: values.criterion, validation: () => validation });
const after = await evaluate(q, test, { reference: floatPath });
const flagsAfter = values.flags ? disagreement() : null;
console.log(JSON.stringify({ model: out, before: before.accuracy, after: after.accuracy, agreementBefore: before.agreement.top1, agreementAfter: after.agreement.top1, layers: r.layers.length, images: r.images, maxRelativeShift: r.maxRelativeShift, kept: r.kept, outputError: r.outputError, changedImages: r.changedImages, ...(values.flags ? { flagsBefore: flagsBefore.join(''), flagsAfter: flagsAfter.join('') } : {}) }));
for (const x of heldBack) x.dispose();
for (const x of [...calib, ...validation]) x.dispose();
disposeNetwork(reference);
e.dispose();
