export { detach } from './detach.js';
export { DEFAULT_IDM_WEIGHT, idmLoss } from './idm-loss.js';
export type { IdmLossOptions } from './idm-loss.js';
export { lowestBitLayers } from './lowest-bit-layers.js';
export { crossEntropy } from './cross-entropy.js';
export { distillationLoss, klDistillation } from './distillation.js';
export type { DistillationLossOptions, KlDistillationOptions } from './distillation.js';
