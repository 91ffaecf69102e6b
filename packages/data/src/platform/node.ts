// Node side of the platform seam ('#platform' in package.json imports): zlib, pngjs and jpeg-js.
import { gunzipSync as zlibGunzip, gzipSync as zlibGzip } from 'node:zlib';
import { LowbitError } from '@lowbit/core';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import type { RgbaImage } from '../image-decode.js';
import { checkImageSize, imageFormat } from '../image-size.js';

export const platform = 'node' as const;

export function gunzipSync(bytes: Uint8Array, _source: string): Uint8Array {
  return new Uint8Array(zlibGunzip(bytes));
}

export function gzipSync(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(zlibGzip(bytes, { level: 9 }));
}

export function decodeImageSync(bytes: Uint8Array, source: string): RgbaImage {
  const format = imageFormat(bytes);
  checkImageSize(bytes, source);
  try {
    if (format === 'png') {
      const png = PNG.sync.read(Buffer.from(bytes));
      return { width: png.width, height: png.height, data: new Uint8Array(png.data) };
    }
    if (format === 'jpeg') {
      const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 512 });
      return { width: img.width, height: img.height, data: img.data };
    }
  } catch (e) {
    throw new LowbitError('E_IMAGE', `${source}: cannot decode image (${decoderMessage((e as Error).message)})`);
  }
  throw new LowbitError('E_IMAGE', `${source}: not a PNG or JPEG file (unrecognised signature)`);
}

export async function decodeImagePlatform(input: Uint8Array | Blob, source: string): Promise<RgbaImage> {
  const bytes = input instanceof Uint8Array ? input : new Uint8Array(await input.arrayBuffer());
  return decodeImageSync(bytes, source);
}

/** pngjs's and jpeg-js's messages for the usual damage, in words that say what is wrong with the file. */
function decoderMessage(m: string): string {
  if (/read requests waitng on finished stream|unexpected end|Unexpected end/i.test(m)) return 'the file is truncated';
  if (/unrecognised content at end of stream|Crc error|invalid (stored )?block|incorrect header check|invalid distance/i.test(m)) return `the data is damaged: ${m}`;
  return m;
}
