// Browser-safe entry (the `default` condition): everything here runs wherever tfjs-core does.
// Node adds the file readers (`node` condition → index.node.ts).
export { encodeIdx, parseIdx } from './idx.js';
export type { IdxArray } from './idx.js';
export { makeLabeledSet, setFingerprint, subset } from './labeled-set.js';
export type { LabeledSet } from './labeled-set.js';
export { FASHION_MNIST_CLASSES } from './classes.js';
export { preprocessInto, UNIT } from './preprocess.js';
export type { Preprocess } from './preprocess.js';
export { augmentImage, NO_AUGMENT } from './augment.js';
export type { AugmentOptions } from './augment.js';
export { batchCount, batches, calibrationIndices, epochOrder, makeBatch } from './batches.js';
export type { Batch, BatchOptions } from './batches.js';
export { decodeImage, decodeImageAsync, IMAGE_FITS, toChannels } from './image-decode.js';
export type { ChannelOrder, ImageFit, RgbaImage } from './image-decode.js';
export { checkImageSize, imageDimensions, imageFormat, MAX_IMAGE_PIXELS } from './image-size.js';
export type { ImageFolderOptions, ImageFolderSet } from './image-folder.js';
