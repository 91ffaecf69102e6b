import { existsSync } from 'node:fs';
import { LowbitError } from '@lowbit/core';
import { isFashionMnistDir } from './fashion-mnist-dir.js';
import { type ImageReading, imageReading } from './input-options.js';
import { bundledCalibrationSet, bundledTestSet, type LabeledSet, loadFashionMnist, readImageFolder, subset } from '@lowbit/data';

/** The Fashion-MNIST test set: `bundled` (shipped with lowbit), or the IDX files in a directory. */
export function fashionMnistTest(arg: string): LabeledSet {
  return arg === 'bundled' ? bundledTestSet() : loadFashionMnist('test', arg);
}

/**
 * The labelled test set of `--test`: `bundled` (Fashion-MNIST test set), a Fashion-MNIST
 * directory, or a folder of images in one sub-folder per class (resized to the model input; colour
 * images in the channel order and fit given, default RGB, stretched). Returns null with a reason when
 * the set does not fit the model (input shape or number of classes), so that accuracy is skipped
 * rather than computed on the wrong data.
 */
export function loadTestSet(arg: string, inputShape: number[], numOutputs: number, limit: number, image: ImageReading = 'rgb'): { set: LabeledSet | null; note?: string } {
  let set: LabeledSet;
  if (arg === 'bundled') set = bundledTestSet();
  else if (!existsSync(arg)) throw new LowbitError('E_DATA_MISSING', `--test '${arg}' does not exist`);
  else if (isFashionMnistDir(arg, 'test')) set = loadFashionMnist('test', arg);
  else {
    const [h, w, c] = inputShape;
    if (c !== 1 && c !== 3) throw new LowbitError('E_ARG', `a test image folder needs a model with 1 or 3 input channels, got ${c}`);
    set = readImageFolder(arg, { size: [h!, w!], channels: c as 1 | 3, ...imageReading(image), labelsFromSubfolders: true });
  }
  const [h, w, c] = set.imageShape;
  if (h !== inputShape[0] || w !== inputShape[1] || c !== inputShape[2]) {
    return { set: null, note: `test set ${set.name} is ${h}×${w}×${c}, the model takes ${inputShape.join('×')}: accuracy not measured (pass --test with a labelled image folder)` };
  }
  if (set.numClasses > numOutputs) return { set: null, note: `test set ${set.name} has ${set.numClasses} classes, the model outputs ${numOutputs}: accuracy not measured` };
  return { set: limit > 0 ? subset(set, limit, `${set.name}[first ${limit}]`) : set };
}

/**
 * Fashion-MNIST training and test images for the training commands: `bundled` trains on the bundled
 * 1,024-image calibration set (smoke runs and tests). `limit` > 0 keeps the first `limit` training
 * images; more than the set holds is refused (E_ARG, naming `limitName`) rather than quietly meaning all.
 */
export function loadTrainData(data: string, limit = 0, limitName = 'limit'): { train: LabeledSet; test: LabeledSet } {
  const train = data === 'bundled' ? bundledCalibrationSet() : loadFashionMnist('train', data);
  if (limit > train.size) throw new LowbitError('E_ARG', `${limitName} ${limit} is more than the ${train.size} training images of ${train.name}; use 0 (the default) for all of them`);
  const test = fashionMnistTest(data);
  return { train: limit > 0 ? subset(train, limit) : train, test };
}
