import { LowbitError } from '@lowbit/core';
import { gunzipSync, gzipSync } from '#platform';

/** An IDX array (the MNIST file format): unsigned bytes with a shape. */
export interface IdxArray {
  shape: number[];
  data: Uint8Array;
}

const UBYTE = 0x08;

/**
 * Parses IDX bytes (gzipped or raw, detected by the gzip magic). Validates the magic number,
 * the element type (unsigned byte), the dimensions and that the payload has exactly the
 * announced length: a truncated or corrupt file is an error naming `source`, never a short read.
 */
export function parseIdx(bytes: Uint8Array, source: string): IdxArray {
  let raw = bytes;
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      raw = gunzipSync(bytes, source);
    } catch (e) {
      if (e instanceof LowbitError) throw e;
      throw new LowbitError('E_IDX', `${source}: corrupt gzip data (${(e as Error).message})`);
    }
  }
  if (raw.length < 4) throw new LowbitError('E_IDX', `${source}: file has ${raw.length} bytes, too short for an IDX header`);
  if (raw[0] !== 0 || raw[1] !== 0) {
    throw new LowbitError('E_IDX', `${source}: bad IDX magic: first two bytes must be 0x00 0x00, got 0x${hex(raw[0]!)} 0x${hex(raw[1]!)}`);
  }
  if (raw[2] !== UBYTE) throw new LowbitError('E_IDX', `${source}: IDX element type 0x${hex(raw[2]!)} is not supported (expected 0x08, unsigned byte)`);
  const rank = raw[3]!;
  if (rank < 1 || rank > 4) throw new LowbitError('E_IDX', `${source}: IDX rank ${rank} is not supported (expected 1 to 4)`);
  const headerLen = 4 + 4 * rank;
  if (raw.length < headerLen) throw new LowbitError('E_IDX', `${source}: truncated header (${raw.length} bytes, need ${headerLen} for rank ${rank})`);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    if (d === 0) throw new LowbitError('E_IDX', `${source}: dimension ${i} is 0`);
    shape.push(d);
  }
  const n = shape.reduce((a, b) => a * b, 1);
  const have = raw.length - headerLen;
  if (have !== n) {
    throw new LowbitError(
      'E_IDX',
      `${source}: ${have < n ? 'truncated' : 'oversized'} payload: shape [${shape.join(', ')}] needs ${n} bytes after the header, the file has ${have}`,
    );
  }
  return { shape, data: raw.slice(headerLen) };
}

/** Encodes an IDX unsigned-byte array, gzipped when `gzip` (default true). */
export function encodeIdx(arr: IdxArray, gzip = true): Uint8Array {
  const rank = arr.shape.length;
  const n = arr.shape.reduce((a, b) => a * b, 1);
  if (n !== arr.data.length) throw new LowbitError('E_IDX', `encodeIdx: shape [${arr.shape.join(', ')}] needs ${n} values, got ${arr.data.length}`);
  const out = new Uint8Array(4 + 4 * rank + n);
  const view = new DataView(out.buffer);
  out[2] = UBYTE;
  out[3] = rank;
  arr.shape.forEach((d, i) => {
    view.setUint32(4 + 4 * i, d, false);
  });
  out.set(arr.data, 4 + 4 * rank);
  return gzip ? new Uint8Array(gzipSync(out)) : out;
}

function hex(b: number): string {
  return b.toString(16).padStart(2, '0');
}
