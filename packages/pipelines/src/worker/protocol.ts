import type * as tf from '@tensorflow/tfjs-core';
import type { InitBackendOptions } from '@lowbit/core';
import type { QuantizeConfig, QuantizeProgress, QuantizeReport } from '../quantize/quantize.js';
import type { QuantizeReplicaInit } from '../quantize/replica-types.js';
import type { ModelFile, SaveOptions } from '../quantize/quantized-model.js';

/** Images as plain data, preprocessed as the model expects: `data` holds `shape` = `[N, H, W, C]` float32 values. */
export interface ImageRows {
  data: Float32Array;
  shape: [number, number, number, number];
}

/** What {@link quantize} takes, minus what cannot cross to a worker (callbacks, tensors, checkpoints). */
export type WorkerQuantizeConfig = Omit<QuantizeConfig, 'calibration' | 'heldOut' | 'onProgress' | 'signal' | 'checkpoint' | 'initBackend'>;

/** One quantization job for a worker running {@link serveQuantize}. */
export interface QuantizeJob {
  /** The model as `tf.io.ModelArtifacts` (e.g. `await tf.io.http(url).load()` or `tf.io.browserFiles(files).load()`). */
  model: tf.io.ModelArtifacts;
  calibration: ImageRows;
  heldOut?: ImageRows;
  config?: WorkerQuantizeConfig;
  /** The exports to build, each a list of files to download (default one `tfjs` export). */
  saves?: SaveOptions[];
  /** How the worker starts its backend (default `initBackend()`; in a page usually `{ wasmPaths }`). */
  backend?: InitBackendOptions;
}

/** What a job gives back: the report and, per requested save, its files. */
export interface WorkerQuantizeResult {
  report: QuantizeReport;
  /**
   * Top-1 agreement with the float model on the held-out images of the weight-only model — what a
   * stock TF.js export computes (activations float) — beside the report's `heldOutAgreement`
   * (activations quantized too); null without held-out images.
   */
  exportAgreement: number | null;
  files: ModelFile[][];
}

/** Page → the worker running {@link serveQuantize}: a job, a cancel, the answer to a request for replicas. */
export type ToWorker =
  | ({ type: 'quantize'; id: number } & QuantizeJob)
  | { type: 'cancel'; id: number }
  | { type: 'replicas-ready'; id: number }
  | { type: 'replicas-failed'; id: number; message: string };

/**
 * The worker → page: progress, the result or an error, and for a job with `threads` > 1 the
 * requests that start, drive and stop its replica workers (the page owns them).
 */
export type FromWorker =
  | { type: 'progress'; id: number; progress: QuantizeProgress }
  | { type: 'done'; id: number; result: WorkerQuantizeResult }
  | { type: 'error'; id: number; code: string; message: string }
  | { type: 'replicas-start'; id: number; shared: SharedArrayBuffer; size: number; init: QuantizeReplicaInit }
  | { type: 'replicas-post'; id: number; rank: number; message: { kind: 'run' } }
  | { type: 'replicas-close'; id: number };

/** Page → a replica worker running `serveQuantizeReplica`. */
export type ToReplica = { type: 'replica-init'; shared: SharedArrayBuffer; rank: number; size: number; init: QuantizeReplicaInit } | { type: 'replica-run'; message: { kind: 'run' } };

/** A replica worker → page. */
export type FromReplica = { type: 'replica-ready' } | { type: 'replica-failed'; message: string };

/** A replica worker as the page sees it (a `Worker`). */
export interface ReplicaWorker {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  addEventListener(type: 'error', listener: (event: ErrorEvent) => void): void;
  terminate(): void;
}

/** The side of a `Worker` (or a worker's global scope, or a Node `MessagePort`) the protocol uses. */
export interface MessageEndpoint {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  removeEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
}
