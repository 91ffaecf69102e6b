export { CHECKPOINTS_DIR, hasReference, loadReference, referenceMetadata, referencePath } from './load-reference.js';
