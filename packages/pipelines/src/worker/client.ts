import { LowbitError } from '@lowbit/core';
import type { QuantizeProgress } from '../quantize/quantize.js';
import { type PageReplicas, startPageReplicas } from './page-replicas.js';
import type { FromWorker, MessageEndpoint, QuantizeJob, ReplicaWorker, ToWorker, WorkerQuantizeResult } from './protocol.js';

/** Options of {@link quantizeInWorker}. */
export interface QuantizeInWorkerOptions {
  onProgress?: (p: QuantizeProgress) => void;
  signal?: AbortSignal;
  /**
   * Starts one replica worker, for a job with `config.threads` > 1 (data parallelism): a module
   * worker running `serveQuantizeReplica()`, e.g. `() => new Worker(new URL('./replica.js',
   * import.meta.url), { type: 'module' })`. The page must be cross-origin isolated
   * (SharedArrayBuffer). The page starts, watches and stops the replicas.
   */
  replicaWorker?: () => ReplicaWorker;
}

let nextId = 1;

/**
 * Quantizes in a worker that runs {@link serveQuantize}, so that the page's main thread stays free:
 * resolves with the report and the files of each requested save (ready to download), calls
 * `onProgress` as the worker reports steps, and on `signal` abort asks the worker to stop after
 * its current step — the promise then rejects with a `LowbitError` of code `E_ABORTED`. Errors in
 * the worker reject with their own code and message. A job with `config.threads` > 1 runs
 * data-parallel: the page starts the replica workers with `replicaWorker`.
 */
export function quantizeInWorker(worker: MessageEndpoint, job: QuantizeJob, o: QuantizeInWorkerOptions = {}): Promise<WorkerQuantizeResult> {
  const id = nextId++;
  const send = (m: ToWorker) => worker.postMessage(m);
  let replicas: PageReplicas | null = null;
  return new Promise((resolve, reject) => {
    const onAbort = () => send({ type: 'cancel', id });
    const listener = (event: MessageEvent) => {
      const m = event.data as FromWorker;
      if (m?.id !== id) return;
      if (m.type === 'progress') {
        o.onProgress?.(m.progress);
        return;
      }
      if (m.type === 'replicas-start') {
        if (!o.replicaWorker) {
          send({ type: 'replicas-failed', id, message: `config.threads ${m.size} runs replicas in Web Workers: pass quantizeInWorker(worker, job, { replicaWorker: () => new Worker(<a module running serveQuantizeReplica()>, { type: 'module' }) })` });
          return;
        }
        replicas = startPageReplicas(m, o.replicaWorker, (failure) => send(failure === null ? { type: 'replicas-ready', id } : { type: 'replicas-failed', id, message: failure }));
        return;
      }
      if (m.type === 'replicas-post') {
        replicas?.post(m.rank, m.message);
        return;
      }
      if (m.type === 'replicas-close') {
        replicas?.close();
        replicas = null;
        return;
      }
      replicas?.close();
      replicas = null;
      worker.removeEventListener('message', listener);
      o.signal?.removeEventListener('abort', onAbort);
      if (m.type === 'done') resolve(m.result);
      else reject(new LowbitError(m.code, m.message));
    };
    worker.addEventListener('message', listener);
    if (o.signal?.aborted) {
      worker.removeEventListener('message', listener);
      reject(new LowbitError('E_ABORTED', 'quantizeInWorker: aborted before it started'));
      return;
    }
    o.signal?.addEventListener('abort', onAbort, { once: true });
    send({ type: 'quantize', id, ...job });
  });
}
