import { readFileSync } from 'node:fs';
import type * as tf from '@tensorflow/tfjs-core';
import { LowbitError, parseJsonText } from '@lowbit/core';
import { readWeightFile, weightFileSize } from '@lowbit/core/node';
import { checkWeightsManifest } from '../manifest-schema.js';
import { decodeArtifacts, entryBytes, type TfjsArtifacts } from '../read-artifacts.js';

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
  const json = parseJsonText(text, path) as Record<string, unknown>;
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new LowbitError('E_FORMAT', `${path}: expected a JSON object`);
  const topo = json['modelTopology'] as Record<string, unknown> | undefined;
  let format = json['format'] as string | undefined;
  if (format === undefined && topo) format = 'node' in topo ? 'graph-model' : 'layers-model';
  if (format !== 'layers-model' && format !== 'graph-model') {
    throw new LowbitError('E_FORMAT', `${path}: field 'format' must be 'layers-model' or 'graph-model', got ${JSON.stringify(json['format'])}`);
  }
  if (!topo || typeof topo !== 'object') throw new LowbitError('E_FORMAT', `${path}: field 'modelTopology' is missing`);
  const manifest = checkWeightsManifest(json['weightsManifest'], path);
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Uint8Array[] = [];
  manifest.forEach((group, gi) => {
    // what each shard is and its size, before a byte is read (a link to /dev/zero would be read without end)
    const sizes = group.paths.map((p, pi) => weightFileSize(path, p, `weightsManifest[${gi}].paths[${pi}]`));
    const total = sizes.reduce((s, n) => s + n, 0);
    const need = group.weights.reduce((s, e) => s + entryBytes(e), 0);
    if (total !== need) {
      throw new LowbitError('E_WEIGHTS', `${path}: weightsManifest[${gi}] shards (${group.paths.join(', ')}) hold ${total} bytes, the manifest needs ${need}`);
    }
    const parts = group.paths.map((p, pi) => readWeightFile(path, p, `weightsManifest[${gi}].paths[${pi}]`, { checkedSize: sizes[pi]! }));
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
