import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend, LowbitError } from '@lowbit/core';
import { disposeNetwork } from '@lowbit/nn';
import { exportLayersModel, exportPacked, writeTfjsExport } from '@lowbit/tfjs-io';
import { readQuantization } from '../ptq/quantized-checkpoint.js';
import { loadModelArg } from '../util/load-model.js';

export interface ExportCommandOptions {
  model: string;
  target: string;
  out: string;
  perChannel: string;
  json: boolean;
}

export async function runExport(o: ExportCommandOptions): Promise<void> {
  if (o.target !== 'tfjs' && o.target !== 'lowbit-packed') throw new LowbitError('E_ARG', `--target must be tfjs or lowbit-packed, got '${o.target}'`);
  if (o.perChannel !== 'float32' && o.perChannel !== 'float16') throw new LowbitError('E_ARG', `--per-channel must be float32 or float16, got '${o.perChannel}'`);
  await initBackend();
  const net = loadModelArg(o.model);
  const quant = existsSync(o.model) ? readQuantization(o.model) : null;
  if (o.target === 'lowbit-packed' && !quant) {
    disposeNetwork(net);
    throw new LowbitError('E_ARG', `--target lowbit-packed needs a quantized model (the model.json written by lowbit ptq); '${o.model}' has no quantization metadata`);
  }
  const e = o.target === 'lowbit-packed' ? exportPacked(net, { grids: quant!.layers }) : exportLayersModel(net, { ...(quant ? { grids: quant.layers } : {}), perChannel: o.perChannel });
  const written = writeTfjsExport(o.out, e);
  const byKind = (k: string) => e.weights.filter((w) => w.storedAs === k).length;
  const notRepresented = e.weights.filter((w) => w.note && w.storedAs !== 'uint8');
  disposeNetwork(net);
  const report = {
    model: o.model,
    target: o.target,
    output: written.modelJson,
    bytes: written.bytes,
    weightBytes: e.weightData.length,
    quantized: quant !== null,
    weights: e.weights,
  };
  if (o.json) {
    console.log(JSON.stringify(report));
    return;
  }
  console.log(
    [
      o.target === 'lowbit-packed'
        ? `wrote          ${written.modelJson} (+ ${join(o.out, 'weights.lbp')}); load with tf.loadLayersModel(packedHandler(url)) from @lowbit/tfjs-io/loader`
        : `wrote          ${written.modelJson} (+ ${join(o.out, 'group1-shard1of1.bin')}), loadable by stock @tensorflow/tfjs`,
      `weights        ${(e.weightData.length / 1024).toFixed(1)} KB: ${byKind('packed')} packed, ${byKind('uint8')} uint8, ${byKind('float16')} float16, ${byKind('float32')} float32; ${written.bytes} bytes on disk with model.json`,
      quant ? 'activations    not quantized in the export (stock TF.js has no activation quantization): it is weight-quantized' : 'model          float (no quantization metadata): exported as is',
      ...(notRepresented.length
        ? [`note           ${notRepresented.length} kernel(s) use per-channel grids, which the stock manifest cannot hold; stored as ${o.perChannel}. Re-run ptq with --granularity tensor for uint8 everywhere.`]
        : []),
    ].join('\n'),
  );
}
