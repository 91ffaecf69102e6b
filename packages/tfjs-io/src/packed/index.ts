// Browser-safe entry of `@lowbit/tfjs-io/loader` (the `default` condition): no Node built-ins.
export { createPackedHandler, fetchBytes, type PackedSource, packedHandler } from './loader.js';
export { decodePacked } from './decode.js';
export { packBits, unpackBits } from './bits.js';
export { PACKED_FORMAT, PACKED_VERSION, packedBytes } from './format.js';
export type { PackedLayer, PackedManifest, PackedManifestV1, PackedManifestV2, PackedWeight } from './format.js';
export { type PackedModel, readPackedJson } from './read.js';
export { compactTopology, expandTopology, type KerasLayer } from './topology.js';
export { packedWeights } from './layers.js';
