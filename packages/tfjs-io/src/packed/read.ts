import { PACKED_FORMAT, PACKED_VERSION, type PackedManifest, type PackedWeight } from './format.js';
import { packedWeights } from './layers.js';
import { expandTopology, type KerasLayer } from './topology.js';

/** A packed model.json, read: the full Keras topology, the weights in file order, and the weight file's name. */
export interface PackedModel {
  modelTopology: Record<string, unknown>;
  weights: PackedWeight[];
  path: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Validates a packed model.json (`where` names it in errors) and reads it, whichever version wrote
 * it: version 1 lists every weight; version 2 stores the topology compacted and one entry per
 * weighted layer, from which names and shapes are derived.
 */
export function readPackedJson(json: Record<string, unknown>, where: string): PackedModel {
  if (json['format'] !== PACKED_FORMAT) throw new Error(`lowbit-packed: ${where}: field 'format' must be '${PACKED_FORMAT}', got ${JSON.stringify(json['format'])}`);
  const m = json['lowbitPacked'] as PackedManifest | undefined;
  if (!isObject(m)) throw new Error(`lowbit-packed: ${where}: field 'lowbitPacked' must be an object, got ${JSON.stringify(m)}`);
  if (m.version !== 1 && m.version !== 2) {
    throw new Error(`lowbit-packed: ${where}: field 'lowbitPacked.version' must be 1 or ${PACKED_VERSION}, got ${JSON.stringify((m as { version?: unknown }).version)} (a file from a newer lowbit? update @lowbit/tfjs-io)`);
  }
  if (typeof m.path !== 'string' || m.path === '') throw new Error(`lowbit-packed: ${where}: field 'lowbitPacked.path' must be a file name, got ${JSON.stringify(m.path)}`);
  // the weights file sits beside model.json: no absolute path, URL or '..' that would read elsewhere
  if (/^[\\/]|^[A-Za-z][A-Za-z0-9+.-]*:|\0/.test(m.path) || m.path.split(/[\\/]/).includes('..')) {
    throw new Error(`lowbit-packed: ${where}: field 'lowbitPacked.path' must be a file name beside model.json, got ${JSON.stringify(m.path)}`);
  }
  const topology = json['modelTopology'];
  if (!isObject(topology) || !isObject(topology['config']) || !Array.isArray(topology['config']['layers'])) {
    throw new Error(`lowbit-packed: ${where}: field 'modelTopology.config.layers' must be an array of layers`);
  }
  if (m.version === 1) {
    if (!Array.isArray(m.weights)) throw new Error(`lowbit-packed: ${where}: field 'lowbitPacked.weights' must be an array (version 1), got ${JSON.stringify(m.weights)}`);
    return { modelTopology: topology, weights: m.weights, path: m.path };
  }
  if (!isObject(m.layers)) throw new Error(`lowbit-packed: ${where}: field 'lowbitPacked.layers' must be an object (version 2), got ${JSON.stringify(m.layers)}`);
  const modelTopology = expandTopology(topology);
  const layers = (modelTopology['config'] as { layers: KerasLayer[] }).layers;
  return { modelTopology, weights: packedWeights(layers, m.layers, where), path: m.path };
}
