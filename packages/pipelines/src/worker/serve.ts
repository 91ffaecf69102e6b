import * as tf from '@tensorflow/tfjs-core';
import { initBackend, LowbitError, ReplicaAbortedError, ReplicaGroup } from '@lowbit/core';
import { evaluate } from '../eval/evaluate-model.js';
import { quantize } from '../quantize/quantize.js';
import type { QuantizeReplicas } from '../quantize/replica-types.js';
import type { FromWorker, ImageRows, MessageEndpoint, QuantizeJob, ToWorker } from './protocol.js';
import { type ReplicaHost, setReplicaHost, sharedGroupBuffer } from './replica-host.js';

function imageTensor(rows: ImageRows, field: string): tf.Tensor4D {
  const [n, h, w, c] = rows.shape ?? [];
  const need = (n ?? 0) * (h ?? 0) * (w ?? 0) * (c ?? 0);
  if (!(rows.data instanceof Float32Array) || rows.shape?.length !== 4 || need !== rows.data.length || need === 0) {
    throw new LowbitError('E_DATA', `${field}: expected { data: Float32Array, shape: [N, H, W, C] } with N·H·W·C values, got shape ${JSON.stringify(rows.shape)} and ${rows.data?.length ?? 'no'} values`);
  }
  return tf.tensor4d(rows.data, rows.shape);
}

/**
 * Runs {@link quantize} for the page, inside a Web Worker: call it once in the worker's module
 * (`serveQuantize()`), and drive it from the page with {@link quantizeInWorker}. Progress goes back
 * as messages after every reported step; a `cancel` message stops the run after the current step
 * (the reconstruction yields to the event loop between steps). One job at a time per worker.
 */
export function serveQuantize(scope: MessageEndpoint = globalThis as unknown as MessageEndpoint): void {
  let running: { id: number; controller: AbortController } | null = null;
  // the page's answer to a request for replicas, awaited by the running job
  let replicasAnswer: ((failure: string | null) => void) | null = null;
  const post = (m: FromWorker, transfer: Transferable[] = []) => scope.postMessage(m, transfer);
  scope.addEventListener('message', (event: MessageEvent) => {
    const m = event.data as ToWorker;
    if (m?.type === 'cancel') {
      if (running?.id === m.id) running.controller.abort();
      return;
    }
    if (m?.type === 'replicas-ready' || m?.type === 'replicas-failed') {
      if (running?.id === m.id) replicasAnswer?.(m.type === 'replicas-ready' ? null : m.message);
      return;
    }
    if (m?.type !== 'quantize') return;
    if (running) {
      post({ type: 'error', id: m.id, code: 'E_BUSY', message: `this worker is running job ${running.id}; start another worker or wait for it` });
      return;
    }
    const job = { id: m.id, controller: new AbortController() };
    running = job;
    // quantize({ threads }) starts its replicas through the page
    const host: ReplicaHost = async (init, size, capacity) => {
      const shared = sharedGroupBuffer(size, capacity);
      const failure = await new Promise<string | null>((answer) => {
        replicasAnswer = answer;
        post({ type: 'replicas-start', id: m.id, shared, size, init: { ...init, ...(m.backend ? { backend: m.backend } : {}) } });
      });
      replicasAnswer = null;
      if (failure !== null) throw new LowbitError('E_REPLICA', failure);
      const replicas: QuantizeReplicas = {
        group: new ReplicaGroup(shared, 0, size),
        size,
        post: (rank, message) => post({ type: 'replicas-post', id: m.id, rank, message }),
        close: async () => post({ type: 'replicas-close', id: m.id }),
      };
      return replicas;
    };
    setReplicaHost(host);
    runJob(m, job.controller.signal, (progress) => post({ type: 'progress', id: m.id, progress }))
      .then(
        (result) => post({ type: 'done', id: m.id, result }, [...new Set(result.files.flat().map((f) => f.data.buffer as ArrayBuffer))]),
        (e: unknown) => post({ type: 'error', id: m.id, code: e instanceof LowbitError ? e.code : e instanceof ReplicaAbortedError ? 'E_REPLICA' : 'E_INTERNAL', message: e instanceof Error ? e.message : String(e) }),
      )
      .finally(() => {
        running = null;
        setReplicaHost(null);
      });
  });
}

async function runJob(job: QuantizeJob, signal: AbortSignal, onProgress: Parameters<typeof quantize>[1]['onProgress']) {
  await initBackend(job.backend ?? {});
  const calibration = imageTensor(job.calibration, 'calibration');
  const heldOut = job.heldOut ? imageTensor(job.heldOut, 'heldOut') : undefined;
  try {
    const r = await quantize(job.model, { ...(job.config ?? {}), calibration, ...(heldOut ? { heldOut } : {}), onProgress, signal, initBackend: false });
    try {
      // what a stock TF.js export computes (weights on their grids, float activations), on the held-back images
      const exportAgreement = heldOut ? ((await evaluate(r.model, heldOut, { reference: job.model, activations: 'float' })).agreement?.top1 ?? null) : null;
      const files = [];
      for (const save of job.saves ?? [{ target: 'tfjs' as const }]) files.push(await r.model.files(save));
      return { report: r.report, exportAgreement, files };
    } finally {
      r.model.dispose();
    }
  } finally {
    calibration.dispose();
    heldOut?.dispose();
  }
}
