export { resnetFmSpec } from './resnet-fm.js';
export { MBV2_FM_SETTINGS, mbv2FmSpec } from './mbv2-fm.js';
export { isReferenceModel, REFERENCE_MODELS, referenceSpec } from './registry.js';
export type { ReferenceModelName } from './registry.js';
