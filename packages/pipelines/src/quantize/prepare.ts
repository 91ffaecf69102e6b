import type { ReportingMixer } from '@lowbit/amixup';
import { LowbitError } from '@lowbit/core';
import { checkPassFits, DEFAULT_PASS_BUDGET_BYTES, microBatchSize, quantizableLayers, type Network, totalMacs } from '@lowbit/nn';
import type { CalibrationSource, ReconstructionConfig } from '@lowbit/nwq-reconstruct';
import { prepareQuantized, type QuantizedNetwork } from '@lowbit/quantizers';
import { type MethodPlan, mixerFor, type OptionNames, planMethod, weightQuantizerFor } from '../ptq/methods.js';
import { rowBatches } from './bias-correction.js';
import type { CalibrationRows } from './calibration-data.js';
import type { PtqSettings } from './settings.js';
import { type IterationSchedule, scaledIterations } from './speed.js';

/** The method plan of a run (preset plus overrides). */
export function planOf(s: PtqSettings, names: OptionNames = 'config'): MethodPlan {
  return planMethod(s.method, s, names);
}

/** The pass budget of a run in bytes (`memoryMB`, default 1 GiB). */
export function passBudget(s: PtqSettings): number {
  return s.memoryMB !== undefined ? s.memoryMB * 2 ** 20 : DEFAULT_PASS_BUDGET_BYTES;
}

/** Share of free memory the float-target cache may take by default, and its bounds (MB). */
export const CACHE_FREE_SHARE = 0.4;
const CACHE_DEFAULT_MB = 2048;
const CACHE_MIN_MB = 256;
const CACHE_MAX_MB = 8192;

/**
 * The default float-target cache budget in MB: 40% of the free memory, between 256 MB and 8 GB
 * (2048 MB where free memory is unknown, e.g. in a page). Data-parallel threads share one cache.
 */
export function defaultCacheMB(freeBytes: number | null): number {
  if (freeBytes === null || !Number.isFinite(freeBytes)) return CACHE_DEFAULT_MB;
  return Math.max(CACHE_MIN_MB, Math.min(CACHE_MAX_MB, Math.floor((CACHE_FREE_SHARE * freeBytes) / 2 ** 20)));
}

/** How a run splits its batched work to stay within its memory budget (reported). */
export interface MemoryPlan {
  budgetMB: number;
  /** Images per pass: activation statistics, float-target cache fill, reconstruction (gradients accumulated), agreement. */
  statsBatch: number;
  inferenceBatch: number;
  microBatch: number | null;
  agreementBatch: number;
  cacheMB: number;
}

/** The micro-batch sizes of a run on `net` (BN-folded, quantized), from its activation bytes; E_MEMORY if one image cannot fit. */
export function memoryPlan(net: Network, s: PtqSettings, batchSize: number | null, names: OptionNames = 'config'): MemoryPlan {
  const budgetBytes = passBudget(s);
  const option = names === 'flags' ? '--memory-mb' : 'config.memoryMB';
  checkPassFits(net, batchSize === null ? 'paired' : 'training', budgetBytes, option);
  return {
    budgetMB: budgetBytes / 2 ** 20,
    statsBatch: microBatchSize(net, 'quantized', { budgetBytes, cap: 64 }),
    inferenceBatch: microBatchSize(net, 'inference', { budgetBytes, cap: 64 }),
    microBatch: batchSize === null ? null : microBatchSize(net, 'training', { budgetBytes, cap: batchSize }),
    agreementBatch: microBatchSize(net, 'paired', { budgetBytes, cap: 128 }),
    cacheMB: s.cacheMB ?? CACHE_DEFAULT_MB,
  };
}

/**
 * The quantized network of a run with its quantizers initialised on the calibration images, the
 * calibration source and the reconstruction config (null for RTN). Deterministic: every thread
 * of a data-parallel run builds the same state from the same network, rows and settings.
 */
export function prepareRun(
  net: Network,
  rows: CalibrationRows,
  s: PtqSettings,
  names: OptionNames = 'config',
): {
  plan: MethodPlan;
  q: QuantizedNetwork;
  calibration: CalibrationSource;
  config: ReconstructionConfig | null;
  mixer: ReportingMixer;
  memory: MemoryPlan;
  schedule: IterationSchedule | null;
} {
  const plan = planOf(s, names);
  // a preset's iterations, scaled down for large models unless the user chose them
  let schedule: IterationSchedule | null = null;
  if (plan.config) {
    const macs = totalMacs(net);
    const batch = Math.min(plan.config.batchSize, rows.size);
    schedule = s.iters === undefined ? scaledIterations(plan.config.iterations, batch, macs) : { preset: plan.config.iterations, iterations: plan.config.iterations, scaled: false, macsPerImage: macs };
    plan.config.iterations = schedule.iterations;
  }
  if (s.policy) {
    const known = new Set(quantizableLayers(net).map((l) => l.spec.name));
    const unknown = Object.keys(s.policy).filter((k) => !known.has(k));
    if (unknown.length) throw new LowbitError('E_POLICY', `the per-layer bits name ${unknown.length} layer(s) the model lacks: ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ', …' : ''} (its quantizable layers: ${[...known].slice(0, 8).join(', ')}${known.size > 8 ? ', …' : ''})`);
  }
  const wq = weightQuantizerFor(plan.rounding, s.weightGrid);
  const q = prepareQuantized(net, {
    wBits: s.wBits,
    aBits: s.aBits,
    granularity: s.weightGranularity,
    weightGrid: s.weightGrid,
    estimator: s.estimator,
    activationEstimator: s.estimator,
    keep8bit: s.keep8bit,
    learnableActivations: (plan.config?.activationLr ?? 0) > 0,
    ...(s.policy ? { policy: s.policy } : {}),
    ...(wq ? { weightQuantizer: wq } : {}),
  });
  let memory: MemoryPlan;
  try {
    memory = memoryPlan(q.net, s, plan.config ? Math.min(plan.config.batchSize, rows.size) : null, names);
    q.calibrate(rowBatches(rows, memory.statsBatch, rows.size));
  } catch (e) {
    q.dispose();
    throw e;
  }
  const calibration: CalibrationSource = { size: rows.size, batch: (idx) => rows.batch(idx) };
  const mixer = mixerFor(plan.mixing);
  const config = plan.config
    ? { ...plan.config, mixer, seed: s.seed, microBatch: memory.microBatch!, inferenceBatch: memory.inferenceBatch, cacheBytes: memory.cacheMB * 2 ** 20 }
    : null;
  return { plan, q, calibration, config, mixer, memory, schedule };
}
