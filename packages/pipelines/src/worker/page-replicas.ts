// The page side of data parallelism in a browser: quantizeInWorker starts the replica workers a
// run asks for, forwards rank 0's messages to them, and watches them — rank 0 blocks in
// Atomics.wait during collective calls, so the page is where a replica's failure is seen; it
// aborts the group, which wakes rank 0 with the reason.
import { abortShared } from '@lowbit/core';
import type { QuantizeReplicaInit } from '../quantize/replica-types.js';
import type { FromReplica, ReplicaWorker, ToReplica } from './protocol.js';

/** The replica workers of one run, as the page holds them. */
export interface PageReplicas {
  post(rank: number, message: { kind: 'run' }): void;
  close(): void;
}

/**
 * Starts `size − 1` replica workers with `make`, each given the group buffer, its rank and `init`;
 * calls `answer(null)` once all are ready, or `answer(reason)` once, on the first failure to start
 * (the workers are then stopped). A replica that fails after the start aborts the group.
 */
export function startPageReplicas(
  start: { shared: SharedArrayBuffer; size: number; init: QuantizeReplicaInit },
  make: () => ReplicaWorker,
  answer: (failure: string | null) => void,
): PageReplicas {
  const workers: ReplicaWorker[] = [];
  let pending = start.size - 1;
  let state: 'starting' | 'running' | 'failed' | 'closed' = 'starting';
  const close = () => {
    if (state !== 'failed') state = 'closed';
    for (const w of workers) w.terminate();
    workers.length = 0;
  };
  const fail = (message: string) => {
    if (state === 'starting') {
      state = 'failed';
      close();
      answer(message);
    } else if (state === 'running') abortShared(start.shared, message);
  };
  for (let rank = 1; rank < start.size && state === 'starting'; rank++) {
    let w: ReplicaWorker;
    try {
      w = make();
    } catch (e) {
      fail(`replica ${rank}: replicaWorker() threw: ${e instanceof Error ? e.message : String(e)}`);
      break;
    }
    workers.push(w);
    w.addEventListener('message', (event: MessageEvent) => {
      const m = event.data as FromReplica;
      if (m?.type === 'replica-failed') fail(`replica ${rank} failed to start: ${m.message}`);
      else if (m?.type === 'replica-ready' && --pending === 0 && state === 'starting') {
        state = 'running';
        answer(null);
      }
    });
    // a script that does not load (a wrong URL), or an uncaught exception in the replica
    w.addEventListener('error', (event: ErrorEvent) => {
      event.preventDefault?.();
      fail(`replica ${rank}: ${event.message || 'its worker script failed to load or threw'}`);
    });
    const init: ToReplica = { type: 'replica-init', shared: start.shared, rank, size: start.size, init: start.init };
    w.postMessage(init);
  }
  return {
    post(rank, message) {
      const m: ToReplica = { type: 'replica-run', message };
      workers[rank - 1]?.postMessage(m);
    },
    close,
  };
}
