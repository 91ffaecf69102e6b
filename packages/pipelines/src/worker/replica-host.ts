// How quantize({ threads }) starts its replicas inside a page's worker: serveQuantize installs a host
// for the job that asks the page (quantizeInWorker) to start replica Web Workers. The page, not
// this worker, watches them: rank 0 blocks in Atomics.wait during collective calls, so only the
// page's event loop can see a replica fail and abort the group.
import { LowbitError, ReplicaGroup } from '@lowbit/core';
import type { QuantizeReplicaInit, QuantizeReplicas } from '../quantize/replica-types.js';

/** Starts `size − 1` replicas of a PTQ run on a group buffer of `capacity` values per call. */
export type ReplicaHost = (init: QuantizeReplicaInit, size: number, capacity: number) => Promise<QuantizeReplicas>;

let host: ReplicaHost | null = null;

/** Installs (or with null removes) the host the browser build's `startQuantizeReplicas` uses. */
export function setReplicaHost(h: ReplicaHost | null): void {
  host = h;
}

/** The installed host, or an error saying how to run with threads in a page. */
export function replicaHost(threads: number): ReplicaHost {
  if (!host) {
    throw new LowbitError(
      'E_PLATFORM',
      `threads: ${threads} in a browser runs replicas in Web Workers: call quantize() through serveQuantize() in a worker and quantizeInWorker(worker, job, { replicaWorker: () => new Worker(<a module running serveQuantizeReplica()>, { type: 'module' }) }) on a cross-origin isolated page; or run with threads: 1`,
    );
  }
  return host;
}

/** A group buffer in a page: SharedArrayBuffer exists only where the page is cross-origin isolated. */
export function sharedGroupBuffer(size: number, capacity: number): SharedArrayBuffer {
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated;
  if (typeof SharedArrayBuffer !== 'function' || isolated === false) {
    throw new LowbitError(
      'E_PLATFORM',
      `threads: ${size} needs SharedArrayBuffer, which a page has only when it is cross-origin isolated: serve it with 'Cross-Origin-Opener-Policy: same-origin' and 'Cross-Origin-Embedder-Policy: require-corp' (or run with threads: 1)`,
    );
  }
  return ReplicaGroup.allocate(size, capacity);
}
