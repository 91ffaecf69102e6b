import * as tf from '@tensorflow/tfjs-core';
import { LowbitError } from '@lowbit/core';
import { checkTopology } from './topology-schema.js';

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

/** Bytes of one manifest entry as stored (its quantized dtype if any). */
export function entryBytes(e: tf.io.WeightsManifestEntry): number {
  const n = e.shape.reduce((a, b) => a * b, 1);
  const dt = e.quantization?.dtype ?? e.dtype;
  const b = BYTES[dt];
  if (b === undefined) throw new LowbitError('E_WEIGHTS', `weight '${e.name}' has unsupported dtype '${dt}'`);
  return n * b;
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
  checkTopology(json, format, source);
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
