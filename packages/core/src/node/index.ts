export { atomicWriteFile, atomicWriteFiles } from './atomic-write.js';
export { Replicas, startReplicas } from './replicas.js';
export type { ReplicaEntry, ReplicaServer, ReplicaWorkerData } from './replicas.js';
export { type OutputDirOptions, type PreparedOutputDir, prepareOutputDir, removeIfUnused, removeStaleTemps, samePath } from './output-dir.js';
export { wasmBinaries } from './wasm-binaries.js';
export { readWeightFile, weightFileSize } from './weight-file.js';
