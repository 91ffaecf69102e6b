// Browser side of the platform seam ('#platform' in package.json imports): no file system, no
// worker threads in this build; every entry point says what to use instead.
import { LowbitError } from '@lowbit/core';
import type { Network } from '@lowbit/nn';
import type { SourceFormat } from '../quantize/model-source.js';
import type { QuantizeReplicas, QuantizeReplicaInit } from '../quantize/replica-types.js';

export const platform = 'browser' as const;

/** A page cannot see the machine's free memory: the cache budget falls back to its fixed default. */
export function freeMemoryBytes(): number | null {
  return null;
}

export function loadModelFile(path: string): { net: Network; format: SourceFormat } {
  throw new LowbitError('E_PLATFORM', `model '${path}': file paths need Node; in a browser pass a URL, an IOHandler (e.g. tf.io.browserFiles), ModelArtifacts or a tf.LayersModel`);
}

export function writeFilesDir(dir: string, _files: ReadonlyArray<{ name: string; data: Uint8Array }>): string {
  throw new LowbitError('E_PLATFORM', `save('${dir}'): writing a directory needs Node; in a browser save to an IOHandler (e.g. tf.io.browserDownloads) or use files()`);
}

export function startQuantizeReplicas(_init: QuantizeReplicaInit, threads: number): Promise<QuantizeReplicas> {
  return Promise.reject(new LowbitError('E_PLATFORM', `threads: ${threads} needs Node worker threads; in a browser run with threads: 1`));
}
