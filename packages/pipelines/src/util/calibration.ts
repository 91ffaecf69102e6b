import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LowbitError } from '@lowbit/core';
import { isFashionMnistDir } from './fashion-mnist-dir.js';
import { type ImageReading, imageReading } from './input-options.js';
import { bundledCalibrationSet, type LabeledSet, loadFashionMnist, makeLabeledSet, parseIdx, readImageFolder, subset } from '@lowbit/data';

/** Calibration images used when no count is given: all of the source, at most this many. */
export const DEFAULT_CALIBRATION_IMAGES = 1024;

/**
 * Calibration images from `--calib`: `bundled` (training images 0..1023), an IDX images file
 * (`.gz` or raw), a directory with the Fashion-MNIST files, or a folder of PNG/JPEG images
 * (resized to the model input — stretched, or centre-cropped with `fit: 'crop'`; colour images in
 * the channel order given, default RGB). The first `count`
 * images are used (default: all, at most 1,024).
 */
export function loadCalibration(arg: string, count: number | undefined, inputShape: number[], image: ImageReading = 'rgb'): LabeledSet {
  return loadCalibrationSplit(arg, count, inputShape, image, 0).calib;
}

/**
 * {@link loadCalibration}, plus up to `holdBack` of the source's images after the calibration
 * ones (`rest`, null when there are none): images the run never sees, for an honest agreement.
 */
export function loadCalibrationSplit(
  arg: string,
  count: number | undefined,
  inputShape: number[],
  image: ImageReading = 'rgb',
  holdBack = 0,
): { calib: LabeledSet; rest: LabeledSet | null } {
  const want = count ?? DEFAULT_CALIBRATION_IMAGES;
  let set: LabeledSet;
  if (arg === 'bundled') set = bundledCalibrationSet();
  else if (!existsSync(arg)) throw new LowbitError('E_DATA_MISSING', `--calib '${arg}' does not exist (expected 'bundled', an IDX file, or a folder of images)`);
  else if (statSync(arg).isFile()) {
    const idx = parseIdx(readFileSync(arg), arg);
    if (idx.shape.length !== 3 && idx.shape.length !== 4) throw new LowbitError('E_IDX', `${arg}: calibration images must be [N, H, W] or [N, H, W, C], got [${idx.shape.join(', ')}]`);
    set = makeLabeledSet(`calib:${arg}`, idx.data, [idx.shape[1]!, idx.shape[2]!, idx.shape[3] ?? 1], new Uint8Array(idx.shape[0]!));
  } else if (isFashionMnistDir(arg)) set = loadFashionMnist('train', arg);
  else {
    const [h, w, c] = inputShape;
    if (c !== 1 && c !== 3) throw new LowbitError('E_ARG', `image-folder calibration needs a model with 1 or 3 input channels, got ${c}`);
    set = readImageFolder(arg, { size: [h!, w!], channels: c as 1 | 3, ...imageReading(image), labelsFromSubfolders: false, limit: want + holdBack });
  }
  const [h, w, c] = set.imageShape;
  if (h !== inputShape[0] || w !== inputShape[1] || c !== inputShape[2]) {
    throw new LowbitError('E_SHAPE', `calibration images are ${h}×${w}×${c}, the model expects ${inputShape.join('×')} (${join(arg)})`);
  }
  if (count !== undefined && set.size < count) throw new LowbitError('E_ARG', `--calib-size ${count} is larger than the ${set.size} calibration images available`);
  const n = Math.min(want, set.size);
  const more = Math.min(holdBack, set.size - n);
  const rest = more > 0 ? subset(set, Int32Array.from({ length: more }, (_, i) => n + i), `${set.name}[${n}..${n + more - 1}]`) : null;
  return { calib: subset(set, n, set.name), rest };
}
