import type * as tf from '@tensorflow/tfjs-core';
import { disposeNetwork } from '@lowbit/nn';
import { importModelArtifacts } from '@lowbit/tfjs-io';

/** A model the page holds: its artifacts (sent to the worker), its input shape, its bytes on disk. */
export interface PageModel {
  name: string;
  artifacts: tf.io.ModelArtifacts;
  inputShape: [number, number, number];
  bytes: number;
}

/**
 * Reads a TF.js model from chosen files (model.json + its weight files) with tfjs's own
 * `browserFiles`, and checks that lowbit can import it (the input shape comes from the import).
 */
export async function modelFromFiles(files: readonly File[], browserFiles: (files: File[]) => tf.io.IOHandler): Promise<PageModel> {
  const json = files.find((f) => f.name.endsWith('.json'));
  if (!json) throw new Error(`no model.json among the ${files.length} file(s) given: choose model.json and its weight files (.bin) together`);
  const weights = files.filter((f) => f !== json);
  const artifacts = await load(browserFiles([json, ...weights]));
  return checked(json.name, artifacts, files.reduce((s, f) => s + f.size, 0));
}

/** Loads a model from a URL (the bundled demo) with tfjs's `http` handler. */
export async function modelFromUrl(url: string, http: (url: string) => tf.io.IOHandler): Promise<PageModel> {
  const artifacts = await load(http(url));
  const bytes = JSON.stringify(artifacts.modelTopology).length + (artifacts.weightData ? weightBytes(artifacts.weightData) : 0);
  return checked(url, artifacts, bytes);
}

function load(h: tf.io.IOHandler): Promise<tf.io.ModelArtifacts> {
  if (!h.load) throw new Error('this IOHandler cannot load');
  return h.load();
}

function weightBytes(w: ArrayBuffer | ArrayBuffer[]): number {
  return Array.isArray(w) ? w.reduce((s, b) => s + b.byteLength, 0) : w.byteLength;
}

function checked(name: string, artifacts: tf.io.ModelArtifacts, bytes: number): PageModel {
  const net = importModelArtifacts(artifacts, name);
  const shape = net.inputShape as [number, number, number];
  disposeNetwork(net);
  return { name, artifacts, inputShape: shape, bytes };
}
