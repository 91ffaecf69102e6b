import { applyPolicy } from './apply.js';
import { evaluatePolicy } from './evaluate-policy.js';
import { createOneShotNet } from './one-shot-net.js';
import { searchOneShot, uniformOneShotPolicy } from './search.js';

/**
 * Retraining-free mixed precision as library calls (browser-safe part): build a one-shot network,
 * search a per-layer policy under a budget by inference only, evaluate it, and `apply` it to get a
 * model that saves to every export target. `@lowbit/pipelines/node` adds `train`, `load` and `save`.
 */
export const mpq = {
  create: createOneShotNet,
  search: searchOneShot,
  uniform: uniformOneShotPolicy,
  evaluate: evaluatePolicy,
  apply: applyPolicy,
} as const;
