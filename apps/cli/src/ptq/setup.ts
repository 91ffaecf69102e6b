import { makeBatch, batches, type LabeledSet } from '@lowbit/data';
import type { ReportingMixer } from '@lowbit/amixup';
import type { Network } from '@lowbit/nn';
import type { CalibrationSource, ReconstructionConfig } from '@lowbit/nwq-reconstruct';
import { prepareQuantized, type QuantizedNetwork, type RangeEstimator } from '@lowbit/quantizers';
import { loadCalibration } from '../util/calibration.js';
import { loadModelArg } from '../util/load-model.js';
import { channelOrder, inputRange } from '../util/test-data.js';
import { type MethodOverrides, type MethodPlan, mixerFor, planMethod, weightQuantizerFor } from './methods.js';

/** The options of `lowbit ptq` that decide what is reconstructed (the same on every thread). */
export interface PtqSetupOptions extends MethodOverrides {
  model: string;
  method: string;
  wbits: number;
  abits: number;
  calib: string;
  calibSize: number;
  keep8bit: string;
  granularity: string;
  estimator: string;
  recon?: string;
  seed: number;
  inputRange: string;
  channelOrder: string;
}

/** The method plan of a `lowbit ptq` run (`--recon` overrides the preset's granularity). */
export function ptqPlan(o: PtqSetupOptions): MethodPlan {
  return planMethod(o.method, { ...o, ...(o.recon !== undefined ? { granularity: o.recon } : { granularity: undefined }) });
}

/** `--keep-8bit` as a list. */
export function keepList(keep8bit: string): Array<'first' | 'last'> {
  return (keep8bit === 'none' || keep8bit === '' ? [] : keep8bit.split(',').map((s) => s.trim())) as Array<'first' | 'last'>;
}

/** The float model, the calibration images and the input preprocessing of a run. */
export function loadPtqInputs(o: PtqSetupOptions): { net: Network; calib: LabeledSet; preprocess: ReturnType<typeof inputRange> } {
  const net = loadModelArg(o.model);
  const calib = loadCalibration(o.calib, o.calibSize, net.inputShape, channelOrder(o.channelOrder));
  const preprocess = inputRange(o.inputRange, net.inputShape[net.inputShape.length - 1]!);
  return { net, calib, preprocess };
}

/**
 * The quantized network of a run with its quantizers initialised on the calibration images, the
 * calibration source and the reconstruction config (null for RTN). Deterministic: every thread of
 * a data-parallel run builds the same state from the same options.
 */
export function prepareReconstruction(
  o: PtqSetupOptions,
  inputs: ReturnType<typeof loadPtqInputs>,
): { plan: MethodPlan; q: QuantizedNetwork; calibration: CalibrationSource; config: ReconstructionConfig | null; mixer: ReportingMixer } {
  const { net, calib, preprocess } = inputs;
  const plan = ptqPlan(o);
  const wq = weightQuantizerFor(plan.rounding);
  const q = prepareQuantized(net, {
    wBits: o.wbits,
    aBits: o.abits,
    granularity: o.granularity as 'channel' | 'tensor',
    estimator: o.estimator as RangeEstimator,
    activationEstimator: o.estimator as RangeEstimator,
    keep8bit: keepList(o.keep8bit),
    learnableActivations: (plan.config?.activationLr ?? 0) > 0,
    ...(wq ? { weightQuantizer: wq } : {}),
  });
  const calibTensors = function* () {
    for (const b of batches(calib, { batchSize: 64, preprocess })) {
      b.y.dispose();
      try {
        yield b.x;
      } finally {
        b.x.dispose();
      }
    }
  };
  q.calibrate(calibTensors());
  const calibration: CalibrationSource = {
    size: calib.size,
    batch: (idx) => {
      const b = makeBatch(calib, idx, { preprocess });
      b.y.dispose();
      return b.x;
    },
  };
  const mixer = mixerFor(plan.mixing);
  const config = plan.config ? { ...plan.config, mixer, seed: o.seed } : null;
  return { plan, q, calibration, config, mixer };
}
