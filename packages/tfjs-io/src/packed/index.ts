// Browser-safe entry (`@lowbit/tfjs-io/loader`): no Node built-ins are imported statically.
export { packedHandler } from './loader.js';
export { decodePacked } from './decode.js';
export { packBits, unpackBits } from './bits.js';
export { PACKED_FORMAT } from './format.js';
export { packedBytes } from './format.js';
export type { PackedManifest, PackedWeight } from './format.js';
