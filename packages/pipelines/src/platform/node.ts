// Node side of the platform seam ('#platform' in package.json imports): files and worker threads.
import { LowbitError } from '@lowbit/core';
import { freemem } from 'node:os';
import { join } from 'node:path';
import { atomicWriteFiles } from '@lowbit/core/node';
import { loadModelArg, tfjsOrigin } from '../util/load-model.js';
import type { SourceFormat } from '../quantize/model-source.js';
import type { Network } from '@lowbit/nn';

export const platform = 'node' as const;

/** Free system memory in bytes (the default float-target cache budget is a share of it). */
export function freeMemoryBytes(): number | null {
  return freemem();
}

/** A model file (TF.js or lowbit model.json) or a bundled reference name, as a network. */
export function loadModelFile(path: string): { net: Network; format: SourceFormat } {
  const net = loadModelArg(path);
  return { net, format: tfjsOrigin(path) ?? 'lowbit-network' };
}

/** Writes files into `dir` (created if needed): all files or none. Returns the model.json path. */
export function writeFilesDir(dir: string, files: ReadonlyArray<{ name: string; data: Uint8Array }>): string {
  if (dir.trim() === '') throw new LowbitError('E_ARG', 'save: the output directory is an empty string');
  atomicWriteFiles(files.map((f) => ({ path: join(dir, f.name), data: f.data })));
  return join(dir, 'model.json');
}

export { startQuantizeReplicas } from '../quantize/replicas.js';
