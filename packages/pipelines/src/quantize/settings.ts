import { LowbitError } from '@lowbit/core';
import type { BitPolicy } from '@lowbit/nn';
import { grid, type RangeEstimator, WEIGHT_GRIDS, type WeightGrid } from '@lowbit/quantizers';
import type { MethodOverrides, OptionNames } from '../ptq/methods.js';

/**
 * What decides a PTQ run's result, as plain JSON (the same on every data-parallel thread, and
 * the key a resumed run must match). `granularity` (from {@link MethodOverrides}) is the
 * reconstruction unit; `weightGranularity` the weight grid.
 */
export interface PtqSettings extends MethodOverrides {
  method: string;
  wBits: number;
  aBits: number;
  weightGranularity: 'channel' | 'tensor';
  /** Weight grid: symmetric signed, asymmetric with a zero point per channel (MSE over both ends), or auto (asymmetric below 8 bits). */
  weightGrid: WeightGrid;
  estimator: RangeEstimator;
  keep8bit: Array<'first' | 'last'>;
  seed: number;
  /** Per-layer bits that override wBits/aBits/keep8bit for the layers they name. */
  policy?: BitPolicy;
  /** Empirical bias correction after the method (see `correctBias` in @lowbit/quantizers). */
  biasCorrection?: boolean;
  /** Working-set budget of one batched pass on the backend, MB (default 1024): sizes every micro-batch. */
  memoryMB?: number;
  /** Float-target cache budget in JS memory, MB (default 2048; over it the targets are recomputed per batch). */
  cacheMB?: number;
}

const ESTIMATORS: readonly RangeEstimator[] = ['minmax', 'percentile', 'mse'];

/** Checks the settings' own values (bits, grids, estimator, keep list); the method's are checked by `planMethod`. */
export function validateSettings(s: PtqSettings, names: OptionNames = 'config'): void {
  const code = names === 'flags' ? 'E_ARG' : 'E_CONFIG';
  const label = (field: string, flag: string) => (names === 'flags' ? flag : `config.${field}`);
  for (const [field, flag, b] of [
    ['wBits', '--wbits', s.wBits],
    ['aBits', '--abits', s.aBits],
  ] as const) {
    try {
      grid(b, true);
    } catch (e) {
      throw new LowbitError(names === 'flags' ? 'E_BITS' : 'E_CONFIG', `${label(field, flag)}: ${(e as Error).message}`);
    }
  }
  if (s.weightGranularity !== 'channel' && s.weightGranularity !== 'tensor') throw new LowbitError(code, `${label('granularity', '--granularity')} must be channel or tensor, got '${s.weightGranularity}'`);
  if (!WEIGHT_GRIDS.includes(s.weightGrid)) throw new LowbitError(code, `${label('weightGrid', '--weight-grid')} must be one of ${WEIGHT_GRIDS.join(', ')}, got '${s.weightGrid}'`);
  if (!ESTIMATORS.includes(s.estimator)) throw new LowbitError(code, `${label('estimator', '--estimator')} must be one of ${ESTIMATORS.join(', ')}, got '${s.estimator}'`);
  if (!Array.isArray(s.keep8bit) || s.keep8bit.some((k) => k !== 'first' && k !== 'last')) {
    throw new LowbitError(code, `${label('keep8bit', '--keep-8bit')} takes 'first', 'last', both or none, got ${JSON.stringify(s.keep8bit)}`);
  }
  if (s.biasCorrection !== undefined && typeof s.biasCorrection !== 'boolean') throw new LowbitError(code, `${label('biasCorrection', '--bias-correction')} must be ${names === 'flags' ? 'on or off' : 'true or false'}, got ${JSON.stringify(s.biasCorrection)}`);
  if (!(Number.isInteger(s.seed) && s.seed >= 0)) throw new LowbitError(code, `${label('seed', '--seed')} must be an integer ≥ 0, got ${s.seed}`);
  for (const [field, flag, v, min] of [
    ['memoryMB', '--memory-mb', s.memoryMB, 1],
    ['cacheMB', '--cache-mb', s.cacheMB, 0],
  ] as const) {
    if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v >= min)) throw new LowbitError(code, `${label(field, flag)} must be a number ≥ ${min} (MB), got ${JSON.stringify(v)}`);
  }
  if (s.policy !== undefined) {
    if (!s.policy || typeof s.policy !== 'object') throw new LowbitError(code, `${label('layers', '--policy')}: expected a map of layer name → { w, a }`);
    for (const [layer, b] of Object.entries(s.policy)) {
      for (const k of ['w', 'a'] as const) {
        const v = (b as unknown as Record<string, unknown> | null)?.[k];
        if (!(typeof v === 'number' && Number.isInteger(v) && ((v >= 2 && v <= 8) || v === 32))) {
          throw new LowbitError(code, `${label('layers', '--policy')}: layer '${layer}' field '${k}' must be an integer 2..8 (or 32 for float), got ${JSON.stringify(v)}`);
        }
      }
    }
  }
}
