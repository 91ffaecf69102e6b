export { atomicWriteFile, atomicWriteFiles } from './atomic-write.js';
