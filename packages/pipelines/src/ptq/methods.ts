import { type ActivationMixer, LowbitError, type WeightQuantizer } from '@lowbit/core';
import { amixup, noMixing, qdrop, type ReportingMixer } from '@lowbit/amixup';
import { adaRound, asoftmaxRounding } from '@lowbit/asoftmax-rounding';
import type { LayerSpec } from '@lowbit/nn';
import { PRESET_NAMES, PRESETS, type PresetName, type ReconstructionConfig } from '@lowbit/nwq-reconstruct';
import { stepSizeInit, symmetricGridAt, type WeightGrid } from '@lowbit/quantizers';

export type Rounding = 'nearest' | 'adaround' | 'asoftmax';
export type Mixing = 'none' | 'qdrop' | 'amixup';

/** A PTQ method as the app runs it: a preset, optionally with its pieces swapped (ablations). */
export interface MethodPlan {
  method: PresetName;
  rounding: Rounding;
  mixing: Mixing;
  config: Omit<ReconstructionConfig, 'mixer' | 'seed'> | null;
}

export interface MethodOverrides {
  iters?: number;
  batch?: number;
  rounding?: string;
  mixing?: string;
  ar?: string;
  arWeighting?: string;
  granularity?: string;
  lrWeights?: number;
  lrAct?: number;
  targets?: string;
}

/** How errors name the options: as the CLI's flags, or as the fields of `quantize()`'s config. */
export type OptionNames = 'flags' | 'config';

const CONFIG_NAMES: Record<string, string> = {
  '--method': 'method',
  '--rounding': 'rounding',
  '--mixing': 'mixing',
  '--ar': 'regularize',
  '--ar-weighting': 'arWeighting',
  '--recon': 'reconstruction',
  '--batch': 'batchSize',
  '--lr-weights': 'weightLr',
  '--lr-act': 'activationLr',
  '--targets': 'targets',
  '--iters': 'iterations',
};

function oneOf<T extends string>(flag: string, v: string | undefined, allowed: readonly T[], names: OptionNames = 'flags'): T | undefined {
  if (v === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(v)) {
    const label = names === 'flags' ? flag : `config.${CONFIG_NAMES[flag] ?? flag}`;
    throw new LowbitError(names === 'flags' ? 'E_ARG' : 'E_CONFIG', `${label} must be one of ${allowed.join(', ')}, got '${v}'`);
  }
  return v as T;
}

/** Resolves `--method` plus override flags into a plan; unknown values are clear errors (naming flags, or config fields). */
export function planMethod(method: string, o: MethodOverrides, names: OptionNames = 'flags'): MethodPlan {
  const name = oneOf('--method', method, PRESET_NAMES, names)!;
  const preset = PRESETS[name];
  const rounding = oneOf('--rounding', o.rounding, ['nearest', 'adaround', 'asoftmax'] as const, names) ?? preset.rounding;
  const mixing = oneOf('--mixing', o.mixing, ['none', 'qdrop', 'amixup'] as const, names) ?? preset.mixing;
  const label = (flag: string) => (names === 'flags' ? flag : `config.${CONFIG_NAMES[flag] ?? flag}`);
  const code = names === 'flags' ? 'E_ARG' : 'E_CONFIG';
  if (!preset.config) {
    // every optimisation setting given to a method without optimisation is named, not ignored
    const given = (
      [
        ['--iters', o.iters],
        ['--batch', o.batch],
        ['--rounding', o.rounding],
        ['--mixing', o.mixing],
        ['--ar', o.ar],
        ['--ar-weighting', o.arWeighting],
        ['--recon', o.granularity],
        ['--lr-weights', o.lrWeights],
        ['--lr-act', o.lrAct],
        ['--targets', o.targets],
      ] as const
    )
      .filter(([, v]) => v !== undefined)
      .map(([f]) => label(f));
    if (given.length > 0) throw new LowbitError(code, `${names === 'flags' ? '--method rtn' : "method 'rtn'"} runs no optimisation; ${given.join(', ')} ${given.length === 1 ? 'does' : 'do'} not apply`);
    return { method: name, rounding: 'nearest', mixing: 'none', config: null };
  }
  const config = { ...preset.config };
  if (o.iters !== undefined) config.iterations = o.iters;
  if (o.batch !== undefined) config.batchSize = o.batch;
  const ar = oneOf('--ar', o.ar, ['blocks', 'layers', 'none'] as const, names);
  if (ar) config.regularize = ar;
  const arw = oneOf('--ar-weighting', o.arWeighting, ['sum', 'relative'] as const, names);
  if (arw) config.arWeighting = arw;
  const g = oneOf('--recon', o.granularity, ['network', 'block', 'layer'] as const, names);
  if (g) config.granularity = g;
  // Activation Regularization is a term of network-wise reconstruction: block- and layer-wise units have none
  if (config.granularity !== 'network' && (o.ar !== undefined || o.arWeighting !== undefined)) {
    throw new LowbitError(code, `${[o.ar !== undefined ? label('--ar') : null, o.arWeighting !== undefined ? label('--ar-weighting') : null].filter(Boolean).join(' and ')} ${o.ar !== undefined && o.arWeighting !== undefined ? 'apply' : 'applies'} to network-wise reconstruction (nwq, or ${label('--recon')} network); ${names === 'flags' ? `--method ${name}` : `method '${name}'`} reconstructs ${config.granularity} by ${config.granularity}`);
  }
  if (o.lrWeights !== undefined) config.weightLr = o.lrWeights;
  if (o.lrAct !== undefined) config.activationLr = o.lrAct;
  const t = oneOf('--targets', o.targets, ['cache', 'per-batch'] as const, names);
  if (t) config.targets = t;
  // AdaRound's regulariser weight is calibrated against BRECQ/QDrop's channel-summed error (also when an ablation gives NWQ AdaRound rounding)
  if (rounding === 'adaround') config.reduction = 'channels';
  if (rounding === 'nearest' && config.activationLr === 0) throw new LowbitError(code, 'nothing to optimise: nearest rounding with fixed activation steps');
  return { method: name, rounding, mixing, config };
}

/** The weight quantizer factory of a plan (undefined: plain round-to-nearest). */
export function weightQuantizerFor(rounding: Rounding, weightGrid: WeightGrid = 'symmetric'): ((layer: LayerSpec, bits: number, axis: number) => WeightQuantizer) | undefined {
  if (rounding === 'nearest') return undefined;
  const inits = { symmetric: stepSizeInit('mse', { symmetric: true }), asymmetric: stepSizeInit('mse', { symmetric: false }) };
  return (_layer, bits, axis) => {
    const initStep = inits[symmetricGridAt(weightGrid, bits) ? 'symmetric' : 'asymmetric'];
    return (rounding === 'asoftmax' ? asoftmaxRounding({ bits, axis, initStep }) : adaRound({ bits, axis, initStep })) as WeightQuantizer;
  };
}

export function mixerFor(mixing: Mixing): ReportingMixer {
  return mixing === 'amixup' ? amixup() : mixing === 'qdrop' ? qdrop() : noMixing();
}

export type { ActivationMixer };
