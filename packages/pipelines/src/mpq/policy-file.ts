import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { checkSchema, LowbitError, parseJsonText } from '@lowbit/core';
import { bundledCalibrationSet, type LabeledSet, loadFashionMnist, subset } from '@lowbit/data';
import { isReferenceModel } from '@lowbit/models';
import { CHECKPOINTS_DIR } from '@lowbit/models/node';
import type { BitPolicy } from '@lowbit/nn';
import { isFashionMnistDir } from '../util/fashion-mnist-dir.js';

/** The `format` of a policy.json written by `lowbit mpq search`. */
export const POLICY_FORMAT = 'lowbit-policy';

/** A reference name resolves to its bundled one-shot checkpoint; anything else is a directory. */
export function oneShotPath(arg: string): string {
  if (isReferenceModel(arg)) return join(CHECKPOINTS_DIR, `${arg}-oneshot`);
  return arg;
}

/**
 * The labelled calibration set of `mpq search` (and of `eval --policy` for its BN statistics):
 * the bundled 1,024 images, or the first `size` training images of a Fashion-MNIST directory
 * (`set`: all of them, when the caller has read them already).
 */
export function mpqCalibration(src: string, size: number, set?: LabeledSet, names: CalibrationNames = CALIBRATION_FLAGS): LabeledSet {
  const all = set ?? mpqLabelledSet(src, names);
  if (size > all.size) throw new LowbitError('E_ARG', `${names.size} ${size} is larger than the ${all.size} images of ${src === 'bundled' ? 'the bundled calibration set' : src}`);
  return size === all.size ? all : subset(all, size, all.name);
}

/** What errors call the calibration source and size: the search's flags, or a policy file's fields. */
export interface CalibrationNames {
  source: string;
  size: string;
}
const CALIBRATION_FLAGS: CalibrationNames = { source: '--calib', size: '--calib-size' };

/** All labelled images of a search's `--calib` source: the bundled 1,024, or a Fashion-MNIST directory's training images. */
export function mpqLabelledSet(src: string, names: CalibrationNames = CALIBRATION_FLAGS): LabeledSet {
  if (src !== 'bundled' && !isFashionMnistDir(src)) {
    throw new LowbitError('E_ARG', `${names.source} must be 'bundled' or a Fashion-MNIST directory with train-images-idx3-ubyte(.gz) (the search needs labelled images), got '${src}'`);
  }
  return src === 'bundled' ? bundledCalibrationSet() : loadFashionMnist('train', src);
}

/** Reads a policy file written by `lowbit mpq search` (clear errors for anything else). */
export interface PolicyFile {
  policy: BitPolicy;
  oneShot: string;
  /** Calibration images BN is re-estimated on before evaluation or export. */
  bnImages: number;
  calib: string;
  /** Test top-1 the search measured: activations quantized, and with float activations (the export). */
  accuracy: number | null;
  exportAccuracy: number | null;
  fp32Accuracy: number | null;
  testImages: number;
}

const bits = z.number().int().min(1).max(32);
/** The fields of a policy.json that are read back: the per-layer bits and what the search recorded. */
export const policyFileSchema = z.object({
  // version 1 is all there is; a file without it predates the field
  version: z.literal(1).optional(),
  policy: z.record(z.string().min(1), z.object({ w: bits, a: bits })),
  oneShot: z.string().optional(),
  finalBnImages: z.number().int().positive().optional(),
  calib: z.string().optional(),
  accuracy: z.number().min(0).max(1).nullable().optional(),
  exportAccuracy: z.number().min(0).max(1).nullable().optional(),
  fp32Accuracy: z.number().min(0).max(1).nullable().optional(),
  testImages: z.number().int().nonnegative().optional(),
});

export function readPolicyFile(path: string): PolicyFile {
  if (!existsSync(path)) throw new LowbitError('E_NOT_FOUND', `--policy '${path}' does not exist`);
  const j = parseJsonText(readFileSync(path, 'utf8'), path) as Record<string, unknown>;
  if (j === null || typeof j !== 'object' || Array.isArray(j)) throw new LowbitError('E_FORMAT', `${path}: expected a JSON object, got ${JSON.stringify(j)}`);
  if (j['format'] !== POLICY_FORMAT) throw new LowbitError('E_FORMAT', `${path}: field 'format' must be '${POLICY_FORMAT}', got ${JSON.stringify(j['format'])}`);
  checkSchema(policyFileSchema, j, path);
  const policy = j['policy'];
  const num = (k: string) => (typeof j[k] === 'number' ? (j[k] as number) : null);
  return {
    policy: policy as BitPolicy,
    oneShot: String(j['oneShot'] ?? ''),
    bnImages: typeof j['finalBnImages'] === 'number' ? (j['finalBnImages'] as number) : 1024,
    calib: typeof j['calib'] === 'string' ? (j['calib'] as string) : 'bundled',
    accuracy: num('accuracy'),
    exportAccuracy: num('exportAccuracy'),
    fp32Accuracy: num('fp32Accuracy'),
    testImages: num('testImages') ?? 0,
  };
}

