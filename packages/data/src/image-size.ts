// The size an image file declares in its header, read before decoding: a 1 KB PNG can claim
// 60000×60000 pixels and make a decoder allocate gigabytes.
import { LowbitError } from '@lowbit/core';

/** Largest image decoded, in pixels (a 100-megapixel photo: 400 MB of RGBA). */
export const MAX_IMAGE_PIXELS = 100_000_000;

/** Which of the two formats `bytes` hold, by signature (null: neither). */
export function imageFormat(bytes: Uint8Array): 'png' | 'jpeg' | null {
  if (bytes.length > 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return 'png';
  if (bytes.length > 3 && bytes[0] === 0xff && bytes[1] === 0xd8) return 'jpeg';
  return null;
}

/** Width and height declared by a PNG (IHDR) or baseline/progressive JPEG (SOFn) header; null if not found. */
export function imageDimensions(bytes: Uint8Array): { width: number; height: number } | null {
  const u16 = (i: number) => (bytes[i]! << 8) | bytes[i + 1]!;
  const u32 = (i: number) => bytes[i]! * 2 ** 24 + (bytes[i + 1]! << 16) + (bytes[i + 2]! << 8) + bytes[i + 3]!;
  // PNG: signature (8), IHDR chunk length (4) and type (4), then width and height
  const format = imageFormat(bytes);
  if (format === 'png' && bytes.length >= 24 && bytes[12] === 0x49 && bytes[13] === 0x48 && bytes[14] === 0x44 && bytes[15] === 0x52) {
    return { width: u32(16), height: u32(20) };
  }
  if (format === 'jpeg') {
    // JPEG: walk the marker segments up to the first start-of-frame
    let i = 2;
    while (i + 4 <= bytes.length) {
      if (bytes[i] !== 0xff) return null;
      const marker = bytes[i + 1]!;
      if (marker === 0xff) {
        i++; // fill byte
        continue;
      }
      if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
        i += 2; // markers without a length
        continue;
      }
      const length = u16(i + 2);
      const sof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
      if (sof) return i + 9 <= bytes.length ? { width: u16(i + 7), height: u16(i + 5) } : null;
      if (length < 2) return null;
      i += 2 + length;
    }
  }
  return null;
}

/** Refuses an image whose header declares more than {@link MAX_IMAGE_PIXELS} pixels (or none), before any decoding. */
export function checkImageSize(bytes: Uint8Array, source: string): void {
  const d = imageDimensions(bytes);
  if (!d) return; // no readable header: the decoder gives the error
  if (d.width === 0 || d.height === 0) throw new LowbitError('E_IMAGE', `${source}: the header declares an empty image (${d.width}×${d.height})`);
  if (d.width * d.height > MAX_IMAGE_PIXELS) {
    throw new LowbitError('E_IMAGE', `${source}: the header declares ${d.width}×${d.height} pixels (${((d.width * d.height) / 1e6).toFixed(0)} megapixels), more than the ${MAX_IMAGE_PIXELS / 1e6} megapixels lowbit decodes; resize the image first`);
  }
}
