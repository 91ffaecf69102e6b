export { initBackend, TFJS_WASM_FILES } from './backend.js';
export type { BackendInfo, BackendName, InitBackendOptions } from './backend.js';
export { registerGradients, lowbitGradConfigs } from './gradients/register.js';
export { conv2dGradConfig } from './gradients/conv2d-grad.js';
export { depthwiseConv2dGradConfig } from './gradients/depthwise-conv2d-grad.js';
export { batchNormTrain, batchNormInfer, setBatchNormSync, updateRunningStats } from './batch-norm.js';
export type { BatchNormParams, BatchNormTrainResult, BatchReducer } from './batch-norm.js';
export { constant, cosine, linear, piecewise, progress, warmup } from './schedules.js';
export type { Schedule } from './schedules.js';
export { Rng } from './rng.js';
export type { RngState } from './rng.js';
export { evalContext } from './types.js';
export type {
  ActivationMixer,
  ActivationQuantizer,
  HardenedTensor,
  LayerQuantizer,
  QuantSetup,
  SiteQuantizer,
  StepContext,
  StepSizeInit,
  AsymmetricSteps,
  WeightQuantizer,
} from './types.js';
export { LowbitError, check } from './errors.js';
export { checkSchema, fieldPath, type SchemaCheckOptions } from './schema.js';
export { confinedPath } from './relative-path.js';
export { parseJsonText } from './json-text.js';
export { yieldToEventLoop } from './event-loop.js';
export { sgd } from './optim/sgd.js';
export type { SgdOptions } from './optim/sgd.js';
export { adam } from './optim/adam.js';
export type { AdamOptions } from './optim/adam.js';
export { paramGrads } from './optim/grads.js';
export { clipGradsByValue } from './optim/clip.js';
export { ExponentialMovingAverage } from './optim/ema.js';
export { type OptimizerPart, partitioned } from './optim/partitioned.js';
export type { GradMap, LrOptions, Optimizer, ParamMap } from './optim/optimizer.js';
export { kernels, kernelTensor, loadKernels, setKernelsEnabled, tensorBytes, tensorValues } from './kernels/runtime.js';
export { copyRows, gatherRows } from './gather-rows.js';
export { fromFloat16Bits, toFloat16Bits } from './float16.js';
export { bernoulliMix } from './mix.js';
export type { DepthwiseDims, KernelRuntime } from './kernels/runtime.js';
export { maxRelError } from './numeric.js';
export { abortShared, ReplicaAbortedError, ReplicaGroup, shareRange } from './parallel/replica-group.js';
export { allReduceGrads, assignParams, broadcastParams, flattenParams, replicaParamGrads, withBatchNormSync } from './parallel/data-parallel.js';
