// Node's packedHandler: a string is a file path unless it is an http(s), blob or data URL.
import { readFile } from 'node:fs/promises';
import type * as tf from '@tensorflow/tfjs-core';
import { createPackedHandler, fetchBytes, type PackedSource } from './loader.js';

async function readBytes(location: string): Promise<ArrayBuffer> {
  if (/^(https?|blob|data):/.test(location)) return fetchBytes(location);
  const b = await readFile(location);
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

/**
 * A standard tfjs `IOHandler` for lowbit's packed format, so application code stays stock TF.js:
 * `tf.loadLayersModel(packedHandler('model.json'))`. A string is a file path (or an http(s), blob
 * or data URL, fetched); or the two parts already in memory.
 */
export function packedHandler(source: PackedSource): tf.io.IOHandler {
  return createPackedHandler(readBytes, source);
}
