import { LowbitError } from '@lowbit/core';
import type { QuantizeProgress } from '../quantize/quantize.js';
import type { FromWorker, MessageEndpoint, QuantizeJob, WorkerQuantizeResult } from './protocol.js';

let nextId = 1;

/**
 * Quantizes in a worker that runs {@link serveQuantize}, so that the page's main thread stays free:
 * resolves with the report and the files of each requested save (ready to download), calls
 * `onProgress` as the worker reports steps, and on `signal` abort asks the worker to stop after
 * its current step — the promise then rejects with a `LowbitError` of code `E_ABORTED`. Errors in
 * the worker reject with their own code and message.
 */
export function quantizeInWorker(worker: MessageEndpoint, job: QuantizeJob, o: { onProgress?: (p: QuantizeProgress) => void; signal?: AbortSignal } = {}): Promise<WorkerQuantizeResult> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const onAbort = () => worker.postMessage({ type: 'cancel', id });
    const listener = (event: MessageEvent) => {
      const m = event.data as FromWorker;
      if (m?.id !== id) return;
      if (m.type === 'progress') {
        o.onProgress?.(m.progress);
        return;
      }
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
    worker.postMessage({ type: 'quantize', id, ...job });
  });
}
