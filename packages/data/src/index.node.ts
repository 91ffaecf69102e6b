// Node entry (the `node` condition of "."): the browser-safe API plus the file readers.
export * from './index.js';
export { DEFAULT_FASHION_MNIST_DIR, loadFashionMnist, readIdxPair } from './fashion-mnist.js';
export { BUNDLED_DIR, bundledCalibrationSet, bundledTestSet } from './bundled.js';
export { readImageFolder } from './image-folder.js';
