#!/usr/bin/env node
// Which layers a low weight bit-width hurts: quantizes one layer at a time (RTN, weights only,
// every other layer and every activation float) and prints its test top-1 and its KL to the
// float model. Diagnostic for issue 17 (2-bit collapse on foreign models).
//   node packages/pipelines/scripts/layer-sensitivity.mjs MODEL.json --wbits 2 --grid asymmetric [--test 2000]
import { parseArgs } from 'node:util';
import { initBackend } from '@lowbit/core';
import { bundledCalibrationSet, bundledTestSet, subset } from '@lowbit/data';
import { quantizableLayers } from '@lowbit/nn';
import { evaluate, loadModel, quantize } from '@lowbit/pipelines';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { wbits: { type: 'string', default: '2' }, grid: { type: 'string', default: 'symmetric' }, test: { type: 'string', default: '2000' }, calib: { type: 'string', default: '256' } } });
const path = positionals[0];
if (!path) {
  console.error('usage: layer-sensitivity.mjs MODEL.json [--wbits 2] [--grid symmetric|asymmetric] [--test 2000] [--calib 256]');
  process.exit(2);
}
await initBackend();
const w = Number(values.wbits);
const calibration = { set: subset(bundledCalibrationSet(), Number(values.calib)) };
const test = { set: subset(bundledTestSet(), Number(values.test)) };
const loaded = await loadModel(path);
const layers = quantizableLayers(loaded.net).map((l) => ({ name: l.spec.name, op: l.spec.op, weights: l.weightCount }));
const float = Object.fromEntries(layers.map((l) => [l.name, { w: 32, a: 32 }]));
const fp = await evaluate(path, test);
console.log(JSON.stringify({ layer: 'float', top1: fp.accuracy }));
for (const l of layers) {
  const { model: q } = await quantize(path, { method: 'rtn', weightGrid: values.grid, calibration, layers: { ...float, [l.name]: { w, a: 32 } } });
  const e = await evaluate(q, test, { reference: path });
  console.log(JSON.stringify({ layer: l.name, op: l.op, weights: l.weights, top1: e.accuracy, agreement: e.agreement.top1, kl: +e.agreement.kl.toFixed(4) }));
  q.dispose();
}
