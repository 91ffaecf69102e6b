import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { confinedPath, LowbitError, parseJsonText } from '@lowbit/core';
import { atomicWriteFiles, readWeightFile } from '@lowbit/core/node';
import { checkNetworkJson } from '../schema.js';
import { decodeNetwork, encodeNetwork, type NetworkJson } from '../serialize.js';
import type { Network } from '../spec.js';

/**
 * Saves a network as `<path>` (model.json) plus `<name>.weights.bin` beside it. Both files are
 * written to temporary names first and renamed only when both are complete.
 */
export async function saveNetwork(net: Network, path: string, metadata?: Record<string, unknown>): Promise<void> {
  const weightsFile = `${basename(path).replace(/\.json$/, '')}.weights.bin`;
  const { json, weightData } = await encodeNetwork(net, weightsFile, metadata);
  atomicWriteFiles([
    { path: join(dirname(path), weightsFile), data: new Uint8Array(weightData) },
    { path, data: `${JSON.stringify(json, null, 1)}\n` },
  ]);
}

/** Reads the model.json of a saved network (for metadata) without loading weights. */
export function readNetworkJson(path: string): NetworkJson {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new LowbitError('E_NOT_FOUND', `cannot read network file '${path}': ${(e as Error).message}`);
  }
  return parseJsonText(text, path) as NetworkJson;
}

/** Loads a network saved by {@link saveNetwork}. */
export function loadNetwork(path: string): Network {
  const json = readNetworkJson(path);
  checkNetworkJson(json, path);
  const weightsFile = confinedPath(json.weightsManifest[0]!.paths[0], path, 'weightsManifest[0].paths[0]');
  // float32 weights: the size is known before a byte is read
  const expectedBytes = json.weightsManifest[0]!.weights.reduce((s, e) => s + e.shape.reduce((a, b) => a * b, 1) * 4, 0);
  const bytes = readWeightFile(path, weightsFile, 'weightsManifest[0].paths[0]', { expectedBytes });
  const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  return decodeNetwork(json, ab, path);
}
