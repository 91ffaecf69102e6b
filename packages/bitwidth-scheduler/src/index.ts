export { boundaryFraction, DEFAULT_THRESHOLD, turbulence } from './turbulence.js';
export type { CandidateGrid } from './turbulence.js';
export { freezeRatio } from './freeze-ratio.js';
export type { FreezeRatioOptions } from './freeze-ratio.js';
export { activeCandidates, createScheduler, maxBits, minBits, restoreScheduler } from './scheduler-state.js';
export type { SchedulerState } from './scheduler-state.js';
export { updateFreezing } from './freezing.js';
export { sampleBits } from './sampling.js';
