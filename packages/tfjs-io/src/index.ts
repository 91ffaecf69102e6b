export { readTfjsModel } from './read-artifacts.js';
export type { TfjsArtifacts } from './read-artifacts.js';
export { importLayersModel } from './layers-model.js';
export { importTfjsModel } from './import-model.js';
export { detectBlocks } from './blocks.js';
export { exportLayersModel } from './export-layers.js';
export type { ExportOptions, LayerGrids, StoredWeight, TfjsExport } from './export-layers.js';
export { toFloat16Bits } from './float16.js';
export { writeTfjsExport } from './node/write.js';
