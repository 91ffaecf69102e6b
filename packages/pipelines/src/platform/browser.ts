// Browser side of the platform seam ('#platform' in package.json imports): no file system; data
// parallelism through Web Workers that the page starts (see worker/replica-host.ts); every entry
// point that cannot work says what to use instead.
import { LowbitError } from '@lowbit/core';
import type { Network } from '@lowbit/nn';
import type { SourceFormat } from '../quantize/model-source.js';
import type { QuantizeReplicas, QuantizeReplicaInit } from '../quantize/replica-types.js';
import { replicaHost } from '../worker/replica-host.js';

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

/** Replicas in Web Workers started by the page (inside `serveQuantize`; see `quantizeInWorker`'s `replicaWorker`). */
export async function startQuantizeReplicas(init: QuantizeReplicaInit, threads: number, capacity: number): Promise<QuantizeReplicas> {
  return replicaHost(threads)(init, threads, capacity);
}
