import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { LowbitError } from '@lowbit/core';

/** A TF.js model as stored: its model.json object and its decoded weights by name. */
export interface TfjsArtifacts {
  path: string;
  json: Record<string, unknown>;
  format: 'layers-model' | 'graph-model';
  weights: Record<string, tf.Tensor>;
  /** Manifest entries in order (names, shapes, dtypes, quantization). */
  specs: tf.io.WeightsManifestEntry[];
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

function entryBytes(e: tf.io.WeightsManifestEntry): number {
  const n = e.shape.reduce((a, b) => a * b, 1);
  const dt = e.quantization?.dtype ?? e.dtype;
  const b = BYTES[dt];
  if (b === undefined) throw new LowbitError('E_WEIGHTS', `weight '${e.name}' has unsupported dtype '${dt}'`);
  return n * b;
}

/**
 * Reads a TF.js `model.json` and its weight shards from disk. Every problem is a specific error
 * naming the file and field: unreadable or malformed JSON, an unknown format, a missing or short
 * shard, a manifest that does not match the bytes, non-finite weights.
 */
export function readTfjsModel(path: string): TfjsArtifacts {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new LowbitError('E_NOT_FOUND', `cannot read model file '${path}': ${(e as Error).message}`);
  }
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new LowbitError('E_FORMAT', `${path}: not valid JSON (${(e as Error).message})`);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new LowbitError('E_FORMAT', `${path}: expected a JSON object`);
  const topo = json['modelTopology'] as Record<string, unknown> | undefined;
  let format = json['format'] as string | undefined;
  if (format === undefined && topo) format = 'node' in topo ? 'graph-model' : 'layers-model';
  if (format !== 'layers-model' && format !== 'graph-model') {
    throw new LowbitError('E_FORMAT', `${path}: field 'format' must be 'layers-model' or 'graph-model', got ${JSON.stringify(json['format'])}`);
  }
  if (!topo || typeof topo !== 'object') throw new LowbitError('E_FORMAT', `${path}: field 'modelTopology' is missing`);
  const manifest = json['weightsManifest'] as Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }> | undefined;
  if (!Array.isArray(manifest)) throw new LowbitError('E_FORMAT', `${path}: field 'weightsManifest' must be a list of weight groups`);
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Uint8Array[] = [];
  manifest.forEach((group, gi) => {
    if (!Array.isArray(group?.paths) || !Array.isArray(group?.weights)) {
      throw new LowbitError('E_FORMAT', `${path}: field 'weightsManifest[${gi}]' needs 'paths' and 'weights' lists`);
    }
    const parts = group.paths.map((p) => {
      const file = join(dirname(path), p);
      try {
        return new Uint8Array(readFileSync(file));
      } catch (e) {
        throw new LowbitError('E_WEIGHTS', `${path}: weight shard '${p}' (weightsManifest[${gi}]) cannot be read: ${(e as Error).message}`);
      }
    });
    const total = parts.reduce((s, p) => s + p.length, 0);
    const need = group.weights.reduce((s, e) => s + entryBytes(e), 0);
    if (total !== need) {
      throw new LowbitError('E_WEIGHTS', `${path}: weightsManifest[${gi}] shards (${group.paths.join(', ')}) hold ${total} bytes, the manifest needs ${need}`);
    }
    const buf = new Uint8Array(total);
    let off = 0;
    for (const p of parts) {
      buf.set(p, off);
      off += p.length;
    }
    buffers.push(buf);
    specs.push(...group.weights);
  });
  const all = new Uint8Array(buffers.reduce((s, b) => s + b.length, 0));
  let off = 0;
  for (const b of buffers) {
    all.set(b, off);
    off += b.length;
  }
  return decodeArtifacts(path, json, format, specs, all);
}

/** The error message for a weight with a non-finite value. */
export const nonFinite = (source: string, name: string, i: number) => `${source}: weight '${name}' has a non-finite value at flat index ${i}`;

/**
 * Decodes the weights of a TF.js model held in memory (one buffer for all manifest entries, in
 * order) and checks them: the bytes match the manifest, and a LayersModel's float weights are
 * finite (a GraphModel's constants may be ±∞ — a PadV2 value before a max pool, a score
 * threshold —: the importer checks the ones that become layer parameters). `source` names the
 * model in errors (a path, a URL, or 'ModelArtifacts').
 */
export function decodeArtifacts(source: string, json: Record<string, unknown>, format: 'layers-model' | 'graph-model', specs: tf.io.WeightsManifestEntry[], data: Uint8Array): TfjsArtifacts {
  const need = specs.reduce((s, e) => s + entryBytes(e), 0);
  if (data.length !== need) throw new LowbitError('E_WEIGHTS', `${source}: the weight data holds ${data.length} bytes, the weight specs need ${need}`);
  const buffer = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? (data.buffer as ArrayBuffer) : (data.slice().buffer as ArrayBuffer);
  const weights = tf.io.decodeWeights(buffer, specs);
  for (const [name, t] of Object.entries(weights)) {
    if (t.dtype !== 'float32' || format === 'graph-model') continue;
    const v = t.dataSync();
    for (let i = 0; i < v.length; i++) {
      if (!Number.isFinite(v[i]!)) {
        tf.dispose(Object.values(weights));
        throw new LowbitError('E_WEIGHTS', nonFinite(source, name, i));
      }
    }
  }
  return { path: source, json, format, weights, specs };
}
