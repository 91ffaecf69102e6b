import type * as tf from '@tensorflow/tfjs-core';
import { decodePacked } from './decode.js';
import { readPackedJson } from './read.js';

async function readBytes(location: string): Promise<ArrayBuffer> {
  const isUrl = /^(https?|blob|data):/.test(location) || typeof process === 'undefined';
  if (isUrl) {
    const r = await fetch(location);
    if (!r.ok) throw new Error(`lowbit-packed: cannot fetch '${location}': HTTP ${r.status}`);
    return r.arrayBuffer();
  }
  const fs = await import('node:fs/promises');
  const b = await fs.readFile(location);
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

function sibling(location: string, file: string): string {
  const i = location.lastIndexOf('/');
  return i < 0 ? file : `${location.slice(0, i + 1)}${file}`;
}

/**
 * A standard tfjs `IOHandler` for lowbit's packed format, so application code stays stock TF.js:
 * `tf.loadLayersModel(packedHandler('model.json'))`. Works with a file path in Node and with a URL
 * (fetch) in the browser, or with the two parts already in memory. Reads every version of the
 * format (`lowbitPacked.version` 1 and 2).
 */
export function packedHandler(source: string | { modelJson: Record<string, unknown>; weights: ArrayBuffer }): tf.io.IOHandler {
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
