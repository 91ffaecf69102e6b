// Browser side of the platform seam ('#platform' in package.json imports): the platform's own
// image decoder; no zlib, so gzip needs Node (or a DecompressionStream before parseIdx).
import { LowbitError } from '@lowbit/core';
import type { RgbaImage } from '../image-decode.js';
import { checkImageSize, imageFormat } from '../image-size.js';

export const platform = 'browser' as const;

export function gunzipSync(_bytes: Uint8Array, source: string): Uint8Array {
  throw new LowbitError('E_PLATFORM', `${source}: gzipped IDX needs Node; in a browser decompress it first (new Response(blob.stream().pipeThrough(new DecompressionStream('gzip'))).arrayBuffer()) and pass the raw bytes`);
}

export function gzipSync(_bytes: Uint8Array): Uint8Array {
  throw new LowbitError('E_PLATFORM', 'encodeIdx(…, gzip = true) needs Node; in a browser encode without gzip');
}

export function decodeImageSync(_bytes: Uint8Array, source: string): RgbaImage {
  throw new LowbitError('E_PLATFORM', `${source}: decodeImage is synchronous and needs Node; in a browser use decodeImageAsync (the platform's decoder)`);
}

const MIME_TYPES = { png: 'image/png', jpeg: 'image/jpeg' } as const;

export async function decodeImagePlatform(input: Uint8Array | Blob, source: string): Promise<RgbaImage> {
  if (typeof createImageBitmap !== 'function' || typeof OffscreenCanvas !== 'function') {
    throw new LowbitError('E_PLATFORM', `${source}: decoding images needs createImageBitmap and OffscreenCanvas (a browser or worker), or Node`);
  }
  let blob: Blob;
  if (input instanceof Uint8Array) {
    const format = imageFormat(input);
    if (!format) throw new LowbitError('E_IMAGE', `${source}: not a PNG or JPEG file (unrecognised signature)`);
    checkImageSize(input, source);
    blob = new Blob([input as Uint8Array<ArrayBuffer>], { type: MIME_TYPES[format] });
  } else {
    checkImageSize(new Uint8Array(await input.slice(0, 65536).arrayBuffer()), source);
    blob = input;
  }
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch (e) {
    throw new LowbitError('E_IMAGE', `${source}: cannot decode image (${(e as Error).message})`);
  }
  try {
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new LowbitError('E_PLATFORM', `${source}: no 2d canvas context to read the decoded pixels`);
    ctx.drawImage(bitmap, 0, 0);
    const { data } = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
    return { width: bitmap.width, height: bitmap.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  } finally {
    bitmap.close();
  }
}
