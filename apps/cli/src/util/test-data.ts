import { existsSync } from 'node:fs';
import { LowbitError } from '@lowbit/core';
import { isFashionMnistDir } from './fashion-mnist-dir.js';
import { bundledTestSet, type ChannelOrder, type LabeledSet, loadFashionMnist, type Preprocess, readImageFolder, subset } from '@lowbit/data';

/** The Fashion-MNIST test set: `bundled` (shipped with lowbit), or the IDX files in a directory. */
export function fashionMnistTest(arg: string): LabeledSet {
  return arg === 'bundled' ? bundledTestSet() : loadFashionMnist('test', arg);
}

/**
 * The labelled test set of `--test`: `bundled` (Fashion-MNIST test set), a Fashion-MNIST
 * directory, or a folder of images in one sub-folder per class (resized to the model input; colour
 * images in `channelOrder`, default RGB). Returns null with a reason when
 * the set does not fit the model (input shape or number of classes), so that accuracy is skipped
 * rather than computed on the wrong data.
 */
export function loadTestSet(arg: string, inputShape: number[], numOutputs: number, limit: number, channelOrder: ChannelOrder = 'rgb'): { set: LabeledSet | null; note?: string } {
  let set: LabeledSet;
  if (arg === 'bundled') set = bundledTestSet();
  else if (!existsSync(arg)) throw new LowbitError('E_DATA_MISSING', `--test '${arg}' does not exist`);
  else if (isFashionMnistDir(arg, 'test')) set = loadFashionMnist('test', arg);
  else {
    const [h, w, c] = inputShape;
    if (c !== 1 && c !== 3) throw new LowbitError('E_ARG', `a test image folder needs a model with 1 or 3 input channels, got ${c}`);
    set = readImageFolder(arg, { size: [h!, w!], channels: c as 1 | 3, channelOrder, labelsFromSubfolders: true });
  }
  const [h, w, c] = set.imageShape;
  if (h !== inputShape[0] || w !== inputShape[1] || c !== inputShape[2]) {
    return { set: null, note: `test set ${set.name} is ${h}×${w}×${c}, the model takes ${inputShape.join('×')}: accuracy not measured (pass --test with a labelled image folder)` };
  }
  if (set.numClasses > numOutputs) return { set: null, note: `test set ${set.name} has ${set.numClasses} classes, the model outputs ${numOutputs}: accuracy not measured` };
  return { set: limit > 0 ? subset(set, limit, `${set.name}[first ${limit}]`) : set };
}

/** `--input-range lo,hi`: bytes 0..255 map linearly to [lo, hi] (default 0,1). */
export function inputRange(arg: string, channels: number): Preprocess {
  const parts = arg.split(',').map(Number);
  if (parts.length !== 2 || parts.some((x) => !Number.isFinite(x)) || parts[1]! <= parts[0]!) {
    throw new LowbitError('E_ARG', `--input-range must be 'lo,hi' with lo < hi (e.g. 0,1 or -1,1 or 0,255), got '${arg}'`);
  }
  const [lo, hi] = parts as [number, number];
  if (lo === 0 && hi === 1) return { kind: 'unit' };
  // (b/255 − mean)/std = lo + (hi − lo)·b/255  ⇔  std = 1/(hi − lo), mean = −lo/(hi − lo)
  const std = 1 / (hi - lo);
  const mean = -lo / (hi - lo);
  return { kind: 'meanStd', mean: new Array(channels).fill(mean), std: new Array(channels).fill(std) };
}

/** `--channel-order rgb|bgr`: the order of the colour channels the model expects (image folders only). */
export function channelOrder(arg: string): ChannelOrder {
  if (arg !== 'rgb' && arg !== 'bgr') throw new LowbitError('E_ARG', `--channel-order must be rgb or bgr, got '${arg}'`);
  return arg;
}
