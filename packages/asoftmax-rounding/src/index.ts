export { asoftmaxRounding, softness } from './asoftmax.js';
export type { ASoftmaxOptions, ASoftmaxState } from './asoftmax.js';
export { adaRound } from './adaround.js';
export type { AdaRoundOptions, AdaRoundState } from './adaround.js';
export type { RoundingBase } from './rounding-base.js';
