// Browser-safe entry (the `default` condition): import, export and the packed format from memory
// or URLs. Node adds file reading and writing (`node` condition → index.node.ts).
export { decodeArtifacts } from './read-artifacts.js';
export { checkWeightSpecs, checkWeightsManifest, weightEntrySchema, weightsManifestSchema } from './manifest-schema.js';
export type { TfjsArtifacts } from './read-artifacts.js';
export { importLayersModel } from './layers-model.js';
export { importGraphModel } from './graph-model.js';
export { importModelArtifacts } from './import-artifacts.js';
export { detectBlocks } from './blocks.js';
export { exportLayersModel } from './export-layers.js';
export { exportGraphModel } from './export-graph.js';
export type { ExportOptions, LayerGrids, StoredWeight, TfjsExport } from './export-types.js';
export type { HalfRangeAlternative } from './weights-manifest.js';
export { toFloat16Bits } from '@lowbit/core';
export { type ExportFile, fileBytes, tfjsExportFiles } from './export-files.js';
export { exportPacked } from './export-packed.js';
export { codesOnGrid, GRID_TOLERANCE } from './grid-check.js';
export { createPackedHandler, type PackedSource, packedHandler } from './packed/index.js';
