export { buildProgram, main } from './program.js';
export { runInfo } from './commands/info.js';
export type { InfoReport } from './commands/info.js';
export { crossEntropy, trainStep } from './train/step.js';
export { median, timeIt } from './util/timing.js';
