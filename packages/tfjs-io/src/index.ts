export { readTfjsModel } from './read-artifacts.js';
export type { TfjsArtifacts } from './read-artifacts.js';
export { importLayersModel } from './layers-model.js';
export { importTfjsModel } from './import-model.js';
export { detectBlocks } from './blocks.js';
