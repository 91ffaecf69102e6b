import type { ReportingMixer } from '@lowbit/amixup';
import { LowbitError } from '@lowbit/core';
import { quantizableLayers, type Network } from '@lowbit/nn';
import type { CalibrationSource, ReconstructionConfig } from '@lowbit/nwq-reconstruct';
import { prepareQuantized, type QuantizedNetwork } from '@lowbit/quantizers';
import { type MethodPlan, mixerFor, type OptionNames, planMethod, weightQuantizerFor } from '../ptq/methods.js';
import type { CalibrationRows } from './calibration-data.js';
import type { PtqSettings } from './settings.js';

/** The method plan of a run (preset plus overrides). */
export function planOf(s: PtqSettings, names: OptionNames = 'config'): MethodPlan {
  return planMethod(s.method, s, names);
}

/** Images per batch of the activation-statistics pass. */
const STATS_BATCH = 64;

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
): { plan: MethodPlan; q: QuantizedNetwork; calibration: CalibrationSource; config: ReconstructionConfig | null; mixer: ReportingMixer } {
  const plan = planOf(s, names);
  if (s.policy) {
    const known = new Set(quantizableLayers(net).map((l) => l.spec.name));
    const unknown = Object.keys(s.policy).filter((k) => !known.has(k));
    if (unknown.length) throw new LowbitError('E_POLICY', `the per-layer bits name ${unknown.length} layer(s) the model lacks: ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ', …' : ''} (its quantizable layers: ${[...known].slice(0, 8).join(', ')}${known.size > 8 ? ', …' : ''})`);
  }
  const wq = weightQuantizerFor(plan.rounding);
  const q = prepareQuantized(net, {
    wBits: s.wBits,
    aBits: s.aBits,
    granularity: s.weightGranularity,
    estimator: s.estimator,
    activationEstimator: s.estimator,
    keep8bit: s.keep8bit,
    learnableActivations: (plan.config?.activationLr ?? 0) > 0,
    ...(s.policy ? { policy: s.policy } : {}),
    ...(wq ? { weightQuantizer: wq } : {}),
  });
  try {
    const stats = function* () {
      for (const x of rows.batches(STATS_BATCH)) {
        try {
          yield x;
        } finally {
          x.dispose();
        }
      }
    };
    q.calibrate(stats());
  } catch (e) {
    q.dispose();
    throw e;
  }
  const calibration: CalibrationSource = { size: rows.size, batch: (idx) => rows.batch(idx) };
  const mixer = mixerFor(plan.mixing);
  const config = plan.config ? { ...plan.config, mixer, seed: s.seed } : null;
  return { plan, q, calibration, config, mixer };
}
