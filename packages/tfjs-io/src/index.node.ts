// Node entry (the `node` condition of "."): the browser-safe API plus files.
export * from './index.js';
export { readTfjsModel } from './node/read.js';
export { importTfjsModel } from './node/import-model.js';
export { writeTfjsExport } from './node/write.js';
export { packedHandler } from './packed/loader.node.js';
