export { benchEval } from './eval-bench.js';
export { benchTrainStep, benchTrainStepParallel, profileTrainStep } from './train-step-bench.js';
export type { OpProfileRow, StepTimes } from './train-step-bench.js';
export { benchNwqIter } from './nwq-iter-bench.js';
