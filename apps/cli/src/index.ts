export { buildProgram, main } from './program.js';
export { runInfo } from './commands/info.js';
export type { InfoReport } from './commands/info.js';
export { median, timeIt } from './util/timing.js';
