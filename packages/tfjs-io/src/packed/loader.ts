import type * as tf from '@tensorflow/tfjs-core';
import { decodePacked } from './decode.js';
import { readPackedJson } from './read.js';

function sibling(location: string, file: string): string {
  const i = location.lastIndexOf('/');
  return i < 0 ? file : `${location.slice(0, i + 1)}${file}`;
}

/** Where a packed model is: a location (URL, or in Node a file path) or its two parts in memory. */
export type PackedSource = string | { modelJson: Record<string, unknown>; weights: ArrayBuffer };

/** Fetches `location` (a URL, relative to the page or worker) as bytes. */
export async function fetchBytes(location: string): Promise<ArrayBuffer> {
  let r: Response;
  try {
    r = await fetch(location);
  } catch (e) {
    throw new Error(`lowbit-packed: cannot fetch '${location}': ${(e as Error).message}`);
  }
  if (!r.ok) throw new Error(`lowbit-packed: cannot fetch '${location}': HTTP ${r.status}`);
  return r.arrayBuffer();
}

/**
 * The `IOHandler` of {@link packedHandler} with its own byte reader (the platform entries pass
 * fetch, or fetch and the file system). Reads every version of the format (`lowbitPacked.version` 1 and 2).
 */
export function createPackedHandler(readBytes: (location: string) => Promise<ArrayBuffer>, source: PackedSource): tf.io.IOHandler {
  return {
    async load(): Promise<tf.io.ModelArtifacts> {
      let json: Record<string, unknown>;
      const where = typeof source === 'string' ? source : 'model.json (in memory)';
      if (typeof source === 'string') {
        const text = new TextDecoder().decode(await readBytes(source));
        try {
          json = JSON.parse(text) as Record<string, unknown>;
        } catch (e) {
          throw new Error(`lowbit-packed: ${source} is not valid JSON (${(e as Error).message})`);
        }
      } else {
        json = source.modelJson;
      }
      const m = readPackedJson(json, where);
      const file = typeof source === 'string' ? sibling(source, m.path) : `${m.path} (in memory)`;
      const weights = typeof source === 'string' ? await readBytes(file) : source.weights;
      const { specs, weightData } = decodePacked(m, weights, file);
      return { modelTopology: m.modelTopology as tf.io.ModelArtifacts['modelTopology'], weightSpecs: specs, weightData, format: 'layers-model' };
    },
  };
}

/**
 * A standard tfjs `IOHandler` for lowbit's packed format, so application code stays stock TF.js:
 * `tf.loadLayersModel(packedHandler('model.json'))`. Here (the browser build) a string is a URL
 * fetched relative to the page; in Node (the `node` condition) it may also be a file path. Or
 * the two parts already in memory.
 */
export function packedHandler(source: PackedSource): tf.io.IOHandler {
  return createPackedHandler(fetchBytes, source);
}
