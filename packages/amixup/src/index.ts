export { amixup, noMixing, qdrop } from './mixers.js';
export type { AMixupOptions, ReportingMixer } from './mixers.js';
