import { type ActivationMixer, LowbitError, type WeightQuantizer } from '@lowbit/core';
import { amixup, noMixing, qdrop, type ReportingMixer } from '@lowbit/amixup';
import { adaRound, asoftmaxRounding } from '@lowbit/asoftmax-rounding';
import type { LayerSpec } from '@lowbit/nn';
import { PRESET_NAMES, PRESETS, type PresetName, type ReconstructionConfig } from '@lowbit/nwq-reconstruct';
import { stepSizeInit } from '@lowbit/quantizers';

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
  granularity?: string;
  lrWeights?: number;
  lrAct?: number;
  targets?: string;
}

function oneOf<T extends string>(flag: string, v: string | undefined, allowed: readonly T[]): T | undefined {
  if (v === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(v)) throw new LowbitError('E_ARG', `${flag} must be one of ${allowed.join(', ')}, got '${v}'`);
  return v as T;
}

/** Resolves `--method` plus override flags into a plan; unknown values are clear errors. */
export function planMethod(method: string, o: MethodOverrides): MethodPlan {
  const name = oneOf('--method', method, PRESET_NAMES)!;
  const preset = PRESETS[name];
  const rounding = oneOf('--rounding', o.rounding, ['nearest', 'adaround', 'asoftmax'] as const) ?? preset.rounding;
  const mixing = oneOf('--mixing', o.mixing, ['none', 'qdrop', 'amixup'] as const) ?? preset.mixing;
  if (!preset.config) {
    if (o.iters !== undefined || o.rounding !== undefined || o.mixing !== undefined || o.ar !== undefined || o.granularity !== undefined) {
      throw new LowbitError('E_ARG', `--method rtn runs no optimisation; --iters/--rounding/--mixing/--ar/--granularity do not apply`);
    }
    return { method: name, rounding: 'nearest', mixing: 'none', config: null };
  }
  const config = { ...preset.config };
  if (o.iters !== undefined) config.iterations = o.iters;
  if (o.batch !== undefined) config.batchSize = o.batch;
  const ar = oneOf('--ar', o.ar, ['blocks', 'layers', 'none'] as const);
  if (ar) config.regularize = ar;
  const g = oneOf('--granularity', o.granularity, ['network', 'block', 'layer'] as const);
  if (g) config.granularity = g;
  if (o.lrWeights !== undefined) config.weightLr = o.lrWeights;
  if (o.lrAct !== undefined) config.activationLr = o.lrAct;
  const t = oneOf('--targets', o.targets, ['cache', 'per-batch'] as const);
  if (t) config.targets = t;
  // AdaRound's regulariser weight is calibrated against BRECQ/QDrop's channel-summed error (also when an ablation gives NWQ AdaRound rounding)
  if (rounding === 'adaround') config.reduction = 'channels';
  if (rounding === 'nearest' && config.activationLr === 0) throw new LowbitError('E_ARG', 'nothing to optimise: nearest rounding with fixed activation steps');
  return { method: name, rounding, mixing, config };
}

/** The weight quantizer factory of a plan (undefined: plain round-to-nearest). */
export function weightQuantizerFor(rounding: Rounding): ((layer: LayerSpec, bits: number, axis: number) => WeightQuantizer) | undefined {
  if (rounding === 'nearest') return undefined;
  const initStep = stepSizeInit('mse');
  return (_layer, bits, axis) => (rounding === 'asoftmax' ? asoftmaxRounding({ bits, axis, initStep }) : adaRound({ bits, axis, initStep })) as WeightQuantizer;
}

export function mixerFor(mixing: Mixing): ReportingMixer {
  return mixing === 'amixup' ? amixup() : mixing === 'qdrop' ? qdrop() : noMixing();
}

export type { ActivationMixer };
