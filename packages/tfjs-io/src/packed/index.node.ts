// Node entry of `@lowbit/tfjs-io/loader` (the `node` condition): packedHandler also reads file paths.
export * from './index.js';
export { packedHandler } from './loader.node.js';
