#!/usr/bin/env node
// Applies bias correction to a finished `lowbit ptq` output (the model.json it wrote with
// --bias-correction off) and prints test top-1 before and after: the same result as the run with
// --bias-correction on (the correction comes after the method and changes nothing else), without
// running the method again. For A/B tables (docs/benchmarks.md "Bias correction").
//   node packages/pipelines/scripts/bias-correct-output.mjs PTQ_OUT/model.json FLOAT_MODEL.json [--test 10000] [--images N]
import { parseArgs } from 'node:util';
import { initBackend } from '@lowbit/core';
import { bundledCalibrationSet, bundledTestSet, subset, batches } from '@lowbit/data';
import { foldBatchNorm, disposeNetwork } from '@lowbit/nn';
import { correctBias } from '@lowbit/quantizers';
import { evaluate, loadModel, quantizedHooks } from '@lowbit/pipelines';
import { loadEvaluable } from '@lowbit/pipelines/node';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { test: { type: 'string', default: '10000' }, images: { type: 'string', default: '256' }, activations: { type: 'string', default: 'quantized' } } });
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
// the calibration images the run used first (the bundled set, as lowbit ptq reads it)
const calib = [];
for (const b of batches(subset(bundledCalibrationSet(), Number(values.images)), { batchSize: 64 })) {
  calib.push(b.x);
  b.y.dispose();
}
const hooks = quantizedHooks(q.quantization);
const r = correctBias({ net: q.network, layers: new Set(Object.keys(q.quantization.layers)), forwardOptions: () => ({ activation: hooks.activation }) }, () => calib, { reference, activations: values.activations });
const after = await evaluate(q, test, { reference: floatPath });
console.log(JSON.stringify({ model: out, before: before.accuracy, after: after.accuracy, agreementBefore: before.agreement.top1, agreementAfter: after.agreement.top1, layers: r.layers.length, images: r.images, maxRelativeShift: r.maxRelativeShift }));
for (const x of calib) x.dispose();
disposeNetwork(reference);
e.dispose();
