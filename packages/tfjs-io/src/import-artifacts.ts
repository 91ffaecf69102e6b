import * as tf from '@tensorflow/tfjs-core';
import { LowbitError } from '@lowbit/core';
import type { Network } from '@lowbit/nn';
import { importGraphModel } from './graph-model.js';
import { importLayersModel } from './layers-model.js';
import { checkWeightSpecs } from './manifest-schema.js';
import { decodeArtifacts } from './read-artifacts.js';

/** `weightData` of ModelArtifacts: one buffer, or several (tfjs ≥ 4.10 splits large models) joined in order. */
function joinWeightData(data: tf.io.ModelArtifacts['weightData']): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  const parts = Array.isArray(data) ? data : [data];
  const out = new Uint8Array(parts.reduce((s, p) => s + p.byteLength, 0));
  let off = 0;
  for (const p of parts) {
    out.set(new Uint8Array(p), off);
    off += p.byteLength;
  }
  return out;
}

/**
 * Imports a TF.js model held in memory as `tf.io.ModelArtifacts` (what an `IOHandler` loads, or
 * what `model.save(tf.io.withSaveHandler(...))` hands over) into the lowbit IR. Browser-safe.
 * `source` names the model in error messages.
 */
export function importModelArtifacts(a: tf.io.ModelArtifacts, source = 'ModelArtifacts'): Network {
  if (!a || typeof a !== 'object') throw new LowbitError('E_FORMAT', `${source}: expected ModelArtifacts (an object with modelTopology, weightSpecs and weightData)`);
  const topo = a.modelTopology;
  if (!topo || typeof topo !== 'object' || topo instanceof ArrayBuffer) {
    throw new LowbitError('E_FORMAT', `${source}: modelTopology must be a JSON object (a binary GraphDef topology is not supported; convert the model to the TF.js JSON format)`);
  }
  let format = a.format;
  if (format === undefined) format = 'node' in topo ? 'graph-model' : 'layers-model';
  if (format !== 'layers-model' && format !== 'graph-model') throw new LowbitError('E_FORMAT', `${source}: field 'format' must be 'layers-model' or 'graph-model', got ${JSON.stringify(a.format)}`);
  if (!Array.isArray(a.weightSpecs)) throw new LowbitError('E_FORMAT', `${source}: field 'weightSpecs' must be a list of weight entries (the artifacts hold no weights)`);
  checkWeightSpecs(a.weightSpecs, source);
  const json = { format, modelTopology: topo as Record<string, unknown>, weightsManifest: [{ paths: [], weights: a.weightSpecs }] };
  const artifacts = decodeArtifacts(source, json, format, a.weightSpecs, joinWeightData(a.weightData));
  try {
    return format === 'layers-model' ? importLayersModel(artifacts) : importGraphModel(artifacts);
  } finally {
    tf.dispose(Object.values(artifacts.weights));
  }
}
