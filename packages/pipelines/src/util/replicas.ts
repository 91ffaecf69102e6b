import { LowbitError } from '@lowbit/core';
import { type Replicas, startReplicas } from '@lowbit/core/node';

/** Overrides of where replica workers load their module from, and with which Node options (tests point them at the build). */
export interface ReplicaStartOptions {
  module?: URL;
  execArgv?: string[];
}

/**
 * Starts `threads − 1` replica workers of one of the CLI's data-parallel loops (`module`: the
 * built replica module beside the loop's own file; `capacity`: the most values one collective
 * call exchanges); this thread is rank 0.
 */
export function startLoopReplicas<I, M>(module: URL, threads: number, capacity: number, init: I, o: ReplicaStartOptions = {}): Promise<Replicas<M>> {
  if (!Number.isInteger(threads) || threads < 2) throw new LowbitError('E_ARG', `data parallelism needs at least 2 threads, got ${threads}`);
  return startReplicas<I, M>({ module: o.module ?? module, size: threads, capacity, init, ...(o.execArgv ? { execArgv: o.execArgv } : {}) });
}
