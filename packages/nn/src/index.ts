export type {
  BatchNormSpec,
  BlockSpec,
  ClipSpec,
  ConcatSpec,
  Conv2dSpec,
  Conv2dTransposeSpec,
  DenseSpec,
  DepthToSpaceSpec,
  DepthwiseConv2dSpec,
  LayerSpec,
  Network,
  NetworkSpec,
  NodeParams,
  NodeSpec,
  OpName,
  Padding,
  PoolSpec,
  PreluSpec,
  ReshapeSpec,
  ResizeSpec,
  ScaleSpec,
  Shape,
  SimpleSpec,
  SliceSpec,
  SumSpec,
  TransposeSpec,
  LeakyReluSpec,
  PadSpec,
  ZeroPadSpec,
} from './spec.js';
export { isLayer, specOf } from './spec.js';
export { checkNetworkJson, checkNetworkSpec, networkJsonSchema, networkSpecSchema } from './schema.js';
export { analyze } from './analyze.js';
export { badParamValue } from './param-values.js';
export type { NetworkInfo, NodeInfo } from './analyze.js';
export { BlockBuilder, NetworkBuilder } from './builder.js';
export { cloneNetwork, cloneSpec, countParams, createNetwork, disposeNetwork, paramDefs, paramMap, trainableVariables } from './create.js';
export { forward, predict, runNode } from './forward.js';
export type { ForwardOptions, ForwardResult } from './forward.js';
export { activationSites, quantizableLayers } from './sites.js';
export type { ActivationSite, LayerInfo } from './sites.js';
export { foldBatchNorm } from './fold-bn.js';
export { bitOps, layerCosts, totalMacs, uniformPolicy, weightBits } from './costs.js';
export type { BitPolicy, LayerBits, LayerCost } from './costs.js';
export { decodeNetwork, encodeNetwork, NETWORK_FORMAT, NETWORK_FORMAT_VERSION } from './serialize.js';
export type { NetworkJson } from './serialize.js';
export { knownOps, opFor } from './ops/registry.js';
export type { OpContext, OpDef, ParamDef, ParamInit } from './ops/op-def.js';
export { batchNormProducers, switchableBatchNorm } from './switchable-bn.js';
export type { BatchNormSet, SwitchableBatchNorm } from './switchable-bn.js';
export { reestimateBatchNorm } from './bn-reestimate.js';
export type { ReestimateOptions } from './bn-reestimate.js';
export { activationBytes, checkPassFits, DEFAULT_PASS_BUDGET_BYTES, microBatchSize, PASS_FACTORS, passBytesPerImage } from './memory.js';
export type { PassKind } from './memory.js';
