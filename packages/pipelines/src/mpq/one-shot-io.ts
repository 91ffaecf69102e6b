import * as tf from '@tensorflow/tfjs-core';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { LowbitError } from '@lowbit/core';
import { atomicWriteFiles } from '@lowbit/core/node';
import { disposeNetwork, encodeNetwork } from '@lowbit/nn';
import { loadNetwork, readNetworkJson } from '@lowbit/nn/node';
import { type CandidateConfig, createOneShotNet, type OneShotNet } from './one-shot-net.js';

/** `oneshot.json`: what turns a float model.json into a one-shot network. */
export interface OneShotFile {
  format: 'lowbit-oneshot';
  version: 1;
  candidates: CandidateConfig;
  specs: tf.io.WeightsManifestEntry[];
  metadata: Record<string, unknown>;
}

export const ONE_SHOT_FORMAT = 'lowbit-oneshot';

/**
 * Writes a one-shot network as a directory: `model.json` + `model.weights.bin` (the shared float
 * weights, a plain lowbit network) and `oneshot.json` + `oneshot.bin` (LSQ steps per candidate,
 * switchable BN sets). All four files are written atomically.
 */
export async function saveOneShot(o: OneShotNet, dir: string, metadata: Record<string, unknown> = {}): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const net = await encodeNetwork(o.net, 'model.weights.bin', { ...metadata, oneShot: 'oneshot.json' });
  const q = await tf.io.encodeWeights(Object.entries(o.quantState()).map(([name, tensor]) => ({ name, tensor })));
  const file: OneShotFile = { format: ONE_SHOT_FORMAT, version: 1, candidates: o.config, specs: q.specs, metadata };
  atomicWriteFiles([
    { path: join(dir, 'model.weights.bin'), data: new Uint8Array(net.weightData) },
    { path: join(dir, 'model.json'), data: `${JSON.stringify(net.json, null, 1)}\n` },
    { path: join(dir, 'oneshot.bin'), data: new Uint8Array(q.data) },
    { path: join(dir, 'oneshot.json'), data: `${JSON.stringify(file, null, 1)}\n` },
  ]);
}

/** True when `path` (a directory, or a file inside one) holds a one-shot network. */
export function isOneShotDir(path: string): boolean {
  return existsSync(join(path, 'oneshot.json')) || (existsSync(path) && path.endsWith('.json') && existsSync(join(dirname(path), 'oneshot.json')));
}

/** Loads a one-shot network saved by {@link saveOneShot}, with clear errors for a wrong or damaged directory. */
export function loadOneShot(path: string): { oneShot: OneShotNet; metadata: Record<string, unknown> } {
  const dir = path.endsWith('.json') ? dirname(path) : path;
  const metaPath = join(dir, 'oneshot.json');
  if (!existsSync(metaPath)) throw new LowbitError('E_MODEL', `'${path}' is not a one-shot network (no oneshot.json); train one with 'lowbit mpq train'`);
  let file: OneShotFile;
  try {
    file = JSON.parse(readFileSync(metaPath, 'utf8')) as OneShotFile;
  } catch (e) {
    throw new LowbitError('E_MODEL', `${metaPath}: invalid JSON (${(e as Error).message})`);
  }
  if (file.format !== ONE_SHOT_FORMAT) throw new LowbitError('E_MODEL', `${metaPath}: field 'format' must be '${ONE_SHOT_FORMAT}', got '${String(file.format)}'`);
  if (file.version !== 1) throw new LowbitError('E_MODEL', `${metaPath}: unsupported version ${String(file.version)} (this lowbit reads version 1)`);
  const binPath = join(dir, 'oneshot.bin');
  if (!existsSync(binPath)) throw new LowbitError('E_MODEL', `${binPath}: missing (the one-shot state beside ${metaPath})`);
  const bin = readFileSync(binPath);
  const expected = file.specs.reduce((s, e) => s + 4 * e.shape.reduce((a, b) => a * b, 1), 0);
  if (bin.byteLength !== expected) throw new LowbitError('E_MODEL', `${binPath}: expected ${expected} bytes for the ${file.specs.length} tensors in oneshot.json, got ${bin.byteLength}`);
  const tensors = tf.io.decodeWeights(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer, file.specs);
  const float = loadNetwork(join(dir, 'model.json'));
  const metadata = (readNetworkJson(join(dir, 'model.json')).metadata ?? {}) as Record<string, unknown>;
  try {
    const oneShot = createOneShotNet(float, file.candidates);
    oneShot.loadQuantState(tensors);
    return { oneShot, metadata: { ...metadata, ...file.metadata } };
  } finally {
    tf.dispose(Object.values(tensors));
    disposeNetwork(float);
  }
}
