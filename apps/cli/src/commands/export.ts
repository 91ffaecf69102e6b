import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend, LowbitError } from '@lowbit/core';
import { disposeNetwork } from '@lowbit/nn';
import { type ExportOptions, exportGraphModel, exportLayersModel, exportPacked, type TfjsExport, writeTfjsExport } from '@lowbit/tfjs-io';
import { readQuantization } from '../ptq/quantized-checkpoint.js';
import { loadModelArg, tfjsOrigin } from '../util/load-model.js';

export interface ExportCommandOptions {
  model: string;
  target: string;
  /** layers | graph; default: the source's format. */
  format?: string;
  out: string;
  perChannel: string;
  json: boolean;
}

export async function runExport(o: ExportCommandOptions): Promise<void> {
  if (o.target !== 'tfjs' && o.target !== 'lowbit-packed') throw new LowbitError('E_ARG', `--target must be tfjs or lowbit-packed, got '${o.target}'`);
  if (o.perChannel !== 'float32' && o.perChannel !== 'float16') throw new LowbitError('E_ARG', `--per-channel must be float32 or float16, got '${o.perChannel}'`);
  if (o.format !== undefined && o.format !== 'layers' && o.format !== 'graph') throw new LowbitError('E_ARG', `--format must be layers or graph, got '${o.format}'`);
  if (o.target === 'lowbit-packed' && o.format === 'graph') throw new LowbitError('E_ARG', '--format graph is for --target tfjs; the lowbit-packed format has a LayersModel topology');
  await initBackend();
  const net = loadModelArg(o.model);
  const quant = existsSync(o.model) ? readQuantization(o.model) : null;
  if (o.target === 'lowbit-packed' && !quant) {
    disposeNetwork(net);
    throw new LowbitError('E_ARG', `--target lowbit-packed needs a quantized model (the model.json written by lowbit ptq); '${o.model}' has no quantization metadata`);
  }
  const format = o.format ?? (tfjsOrigin(o.model) === 'graph-model' ? 'graph' : 'layers');
  const options: ExportOptions = { ...(quant ? { grids: quant.layers } : {}), perChannel: o.perChannel };
  let e: TfjsExport;
  try {
    e = o.target === 'lowbit-packed' ? exportPacked(net, { grids: quant!.layers }) : format === 'graph' ? exportGraphModel(net, options) : exportLayersModel(net, options);
  } finally {
    disposeNetwork(net);
  }
  const written = writeTfjsExport(o.out, e);
  const byKind = (k: string) => e.weights.filter((w) => w.storedAs === k).length;
  const notRepresented = e.weights.filter((w) => w.note && (w.storedAs === 'float32' || w.storedAs === 'float16') && w.note.includes('per-channel'));
  const report = {
    model: o.model,
    target: o.target,
    /** What was written: 'layers-model' | 'graph-model' (stock TF.js) | 'lowbit-packed'. */
    format: e.modelJson['format'] as string,
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
  const shard = join(o.out, 'group1-shard1of1.bin');
  console.log(
    [
      o.target === 'lowbit-packed'
        ? `wrote          ${written.modelJson} (+ ${join(o.out, 'weights.lbp')}); load with tf.loadLayersModel(packedHandler(url)) from @lowbit/tfjs-io/loader`
        : format === 'graph'
          ? `wrote          a TF.js GraphModel: ${written.modelJson} (+ ${shard}); load with stock tf.loadGraphModel(url)`
          : `wrote          a TF.js LayersModel: ${written.modelJson} (+ ${shard}); load with stock tf.loadLayersModel(url)`,
      `weights        ${(e.weightData.length / 1024).toFixed(1)} KB: ${byKind('packed')} packed, ${byKind('uint8')} uint8, ${byKind('float16')} float16, ${byKind('float32')} float32${byKind('int32') ? `, ${byKind('int32')} int32 graph constants` : ''}; ${written.bytes} bytes on disk with model.json`,
      quant ? 'activations    not quantized in the export (stock TF.js has no activation quantization): it is weight-quantized' : 'model          float (no quantization metadata): exported as is',
      ...(notRepresented.length
        ? [`note           ${notRepresented.length} kernel(s) use per-channel grids, which the stock manifest cannot hold; stored as ${o.perChannel}. Re-run ptq with --granularity tensor for uint8 everywhere.`]
        : []),
    ].join('\n'),
  );
}
