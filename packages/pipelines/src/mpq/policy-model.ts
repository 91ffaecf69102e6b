import { LowbitError } from '@lowbit/core';
import { bitsToKB } from '@lowbit/greedy-search';
import { bitOps, weightBits } from '@lowbit/nn';
import type { LabeledSet } from '@lowbit/data';
import type { EvalResult } from '../eval/evaluate.js';
import type { QuantizedModel } from '../quantize/quantized-model.js';
import { applyPolicy } from './apply.js';
import { disposeBatches, evaluatePolicy, fixedBatches } from './evaluate-policy.js';
import { loadOneShot } from './one-shot-io.js';
import { mpqCalibration, oneShotPath, type PolicyFile, readPolicyFile } from './policy-file.js';

/** The one-shot directory a policy file applies to: `oneShot` (a reference name or a directory) if given, else the file's own. */
function oneShotOf(pf: PolicyFile, oneShot?: string): string {
  return oneShot ? oneShotPath(oneShot) : pf.oneShot || oneShotPath('resnet-fm');
}

/**
 * Runs `fn` on the one-shot network of a `lowbit mpq search` policy file with its BN batches
 * (the calibration images the search re-estimated BN on), then frees both.
 */
function withPolicyFile<T>(policyPath: string, oneShot: string | undefined, fn: (o: ReturnType<typeof loadOneShot>['oneShot'], bn: ReturnType<typeof fixedBatches>, pf: PolicyFile, path: string) => T): T {
  const pf = readPolicyFile(policyPath);
  const path = oneShotOf(pf, oneShot);
  // the images BN is re-estimated on come from the policy file (what the search used)
  const bnSet = mpqCalibration(pf.calib, pf.bnImages, undefined, { source: `${policyPath}: field 'calib'`, size: `${policyPath}: field 'finalBnImages'` });
  // errors name where the one-shot path came from (the file's field, or the caller's argument) and the policy file
  const from = oneShot ? '' : pf.oneShot ? `${policyPath}: field 'oneShot': ` : `${policyPath} names no one-shot network, so the bundled resnet-fm one is used: `;
  let o: ReturnType<typeof loadOneShot>['oneShot'];
  try {
    o = loadOneShot(path).oneShot;
  } catch (e) {
    if (e instanceof LowbitError && e.code === 'E_MODEL' && from) throw new LowbitError('E_MODEL', `${from}${e.message}`);
    throw e;
  }
  try {
    o.checkPolicy(pf.policy);
  } catch (e) {
    o.dispose();
    if (e instanceof LowbitError && e.code === 'E_POLICY') throw new LowbitError('E_POLICY', `${policyPath}: field 'policy' does not fit the one-shot network '${path}': ${e.message}`);
    throw e;
  }
  const bn = fixedBatches(bnSet, 0, pf.bnImages);
  try {
    return fn(o, bn, pf, path);
  } finally {
    disposeBatches(bn);
    o.dispose();
  }
}

/** The one-shot network under a policy file, BN re-estimated as the search did, as a shippable {@link QuantizedModel}. */
export function policyFileModel(policyPath: string, oneShot?: string): { oneShot: string; file: PolicyFile; model: QuantizedModel } {
  return withPolicyFile(policyPath, oneShot, (o, bn, file, path) => ({ oneShot: path, file, model: applyPolicy(o, file.policy, bn) }));
}

/** Test accuracy, BitOps and weight size of the one-shot network under a policy file (what `lowbit eval --policy` prints). */
export function evaluatePolicyFile(policyPath: string, test: LabeledSet, oneShot?: string): EvalResult & { oneShot: string; bitOps: number; sizeKB: number } {
  return withPolicyFile(policyPath, oneShot, (o, bn, pf, path) => ({
    ...evaluatePolicy(o, pf.policy, bn, test),
    oneShot: path,
    bitOps: bitOps(o.net, pf.policy),
    sizeKB: bitsToKB(weightBits(o.net, pf.policy)),
  }));
}
