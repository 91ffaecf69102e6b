import { existsSync, statSync } from 'node:fs';
import { LowbitError } from '@lowbit/core';
import { type ChannelOrder, type ImageFolderSet, type Preprocess, readImageFolder } from '@lowbit/data';
import { disposeNetwork, type Network } from '@lowbit/nn';
import { readNetworkJson } from '@lowbit/nn/node';
import { readQuantization } from '../ptq/quantized-checkpoint.js';
import { checkQuantizationFits } from '../ptq/quantization-meta.js';
import { QuantizedModel } from '../quantize/quantized-model.js';
import { channelOrder, imageFit, inputRange } from '../util/input-options.js';
import { loadAnyModel, modelFormat } from '../util/load-model.js';

/** A model file ready for {@link evaluate}: a ptq output as a QuantizedModel (activations quantized), anything else as a float network. */
export interface Evaluable {
  model: QuantizedModel | Network;
  inputShape: number[];
  activations: 'quantized' | 'float';
  /** For a ptq output: the model it was quantized from (its report's `model`). */
  source: string | undefined;
  dispose(): void;
}

/** Loads a model argument (reference name, lowbit / ptq / TF.js / lowbit-packed model.json) for evaluation. */
export async function loadEvaluable(path: string, flag = '--model'): Promise<Evaluable> {
  const net = await loadAnyModel(path, flag);
  const quant = existsSync(path) && modelFormat(path) === 'lowbit-network' ? readQuantization(path) : null;
  if (quant) {
    checkQuantizationFits(quant, net, path);
    const q = new QuantizedModel(net, quant);
    const from = (readNetworkJson(path).metadata?.['report'] as { model?: unknown } | undefined)?.model;
    return { model: q, inputShape: net.inputShape, activations: 'quantized', source: typeof from === 'string' ? from : undefined, dispose: () => q.dispose() };
  }
  return { model: net, inputShape: net.inputShape, activations: 'float', source: undefined, dispose: () => disposeNetwork(net) };
}

/**
 * A folder of images as evaluation data for a model of `inputShape`: resized to its input
 * (`fit`: stretch, or crop the centred region of its aspect ratio), in `order`, scaled to `range`
 * ('lo,hi'); labelled when it has class sub-folders.
 */
export function imageFolderData(dir: string, inputShape: number[], o: { range?: string; order?: string; fit?: string; limit?: number } = {}): { set: ImageFolderSet; preprocess: Preprocess; labelled: boolean } {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new LowbitError('E_DATA_MISSING', `--data '${dir}' is neither 'bundled', a Fashion-MNIST directory nor a folder of images`);
  const order: ChannelOrder = channelOrder(o.order ?? 'rgb');
  const [h, w, c] = inputShape;
  if (c !== 1 && c !== 3) throw new LowbitError('E_ARG', `an image folder needs a model with 1 or 3 input channels, got ${c}`);
  const set = readImageFolder(dir, { size: [h!, w!], channels: c as 1 | 3, channelOrder: order, fit: imageFit(o.fit ?? 'stretch'), ...(o.limit ? { limit: o.limit } : {}) });
  return { set, preprocess: inputRange(o.range ?? '0,1', c), labelled: !(set.classNames.length === 1 && set.classNames[0] === 'unlabelled') };
}
