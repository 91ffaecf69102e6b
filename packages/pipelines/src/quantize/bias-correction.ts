import type * as tf from '@tensorflow/tfjs-core';
import { type Network, quantizableLayers } from '@lowbit/nn';
import type { CalibrationRows } from './calibration-data.js';

/** Multiply-accumulates the bias-correction passes may cost per run (about 2 s at 30 GFLOP/s). */
export const BIAS_CORRECTION_WORK_MACS = 3e10;
const MIN_IMAGES = 32;
/**
 * Calibration images the keep-or-restore check of the correction may use (those after the
 * correction's own): the check is forward passes only, and more images separate a real loss of
 * top-1 agreement from noise (docs/benchmarks.md, "the bias-correction check").
 */
export const BIAS_CHECK_IMAGES = 1024;
const MAX_IMAGES = 256;

/**
 * Calibration images for bias correction: as many as {@link BIAS_CORRECTION_WORK_MACS} allows for
 * its passes (one per quantized layer, each up to that layer: the sum of the layers' prefix MACs
 * per image), between 32 and 256 (a channel mean over 32 images of 7×7 positions averages 1,568 values), never more than there are.
 */
export function biasCorrectionImages(net: Network, available: number): number {
  let prefix = 0;
  let perImage = 0;
  for (const l of quantizableLayers(net)) {
    prefix += l.macs;
    perImage += prefix;
  }
  const byWork = perImage > 0 ? Math.floor(BIAS_CORRECTION_WORK_MACS / perImage) : MAX_IMAGES;
  return Math.min(available, Math.max(MIN_IMAGES, Math.min(MAX_IMAGES, byWork)));
}

/**
 * How `quantize()` splits `available` calibration images for bias correction: the first
 * {@link biasCorrectionImages} fit the correction, the next ones (up to {@link BIAS_CHECK_IMAGES})
 * check it; with no images left over, the check reuses the fitting ones.
 */
export function biasCorrectionSplit(net: Network, available: number): { fit: number; check: { from: number; count: number } } {
  const fit = biasCorrectionImages(net, available);
  return { fit, check: available > fit ? { from: fit, count: Math.min(BIAS_CHECK_IMAGES, available - fit) } : { from: 0, count: fit } };
}

/** `limit` calibration images from index `start` in batches of `batchSize`, each disposed once consumed (statistics and bias-correction passes). */
export function* rowBatches(rows: CalibrationRows, batchSize: number, limit: number, start = 0): Generator<tf.Tensor> {
  const end = Math.min(start + limit, rows.size);
  for (let from = start; from < end; from += batchSize) {
    const x = rows.batch(Int32Array.from({ length: Math.min(batchSize, end - from) }, (_, i) => from + i));
    try {
      yield x;
    } finally {
      x.dispose();
    }
  }
}
