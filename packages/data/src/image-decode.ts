import { decodeImagePlatform, decodeImageSync } from '#platform';

/** A decoded image: RGBA bytes, row-major. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/**
 * Decodes PNG or JPEG bytes (detected by signature); errors name `source`. Synchronous, so Node
 * only (pngjs / jpeg-js); in a browser use {@link decodeImageAsync}, which asks the platform.
 */
export function decodeImage(bytes: Uint8Array, source: string): RgbaImage {
  return decodeImageSync(bytes, source);
}

/**
 * Decodes PNG or JPEG bytes (or a `Blob`/`File` in a browser) to RGBA wherever lowbit runs: in Node
 * with pngjs / jpeg-js (the same pixels as {@link decodeImage}), in a browser or worker with the
 * platform's decoder (`createImageBitmap` + `OffscreenCanvas`, no colour-space conversion). Errors name `source`.
 */
export function decodeImageAsync(input: Uint8Array | Blob, source: string): Promise<RgbaImage> {
  return decodeImagePlatform(input, source);
}

/** Order of the three channels of a colour image: `rgb` (tfjs, Keras) or `bgr` (OpenCV, Caffe-style models). */
export type ChannelOrder = 'rgb' | 'bgr';

/**
 * How an image meets the model's input size: `stretch` resizes the whole image (aspect ratio
 * lost), `crop` takes the largest centred region of the input's aspect ratio and resizes that
 * (the usual ImageNet evaluation: shorter side to the size, centre crop).
 */
export type ImageFit = 'stretch' | 'crop';
export const IMAGE_FITS: readonly ImageFit[] = ['stretch', 'crop'];

/**
 * Converts RGBA to `channels` (1: luma 0.299R + 0.587G + 0.114B; 3: RGB, or BGR with
 * `order` 'bgr') and resizes with bilinear interpolation (pixel centres aligned, as
 * tf.image.resizeBilinear with halfPixelCenters) — the whole image (`fit` 'stretch', default) or
 * its centred region of the output's aspect ratio ('crop'). Returns `[h, w, channels]` bytes.
 */
export function toChannels(img: RgbaImage, h: number, w: number, channels: 1 | 3, order: ChannelOrder = 'rgb', fit: ImageFit = 'stretch'): Uint8Array {
  const [first, last] = order === 'bgr' ? [2, 0] : [0, 2];
  const src = new Float32Array(img.width * img.height * channels);
  for (let i = 0; i < img.width * img.height; i++) {
    const r = img.data[4 * i]!;
    const g = img.data[4 * i + 1]!;
    const b = img.data[4 * i + 2]!;
    if (channels === 1) src[i] = 0.299 * r + 0.587 * g + 0.114 * b;
    else {
      src[3 * i + first] = r;
      src[3 * i + 1] = g;
      src[3 * i + last] = b;
    }
  }
  const out = new Uint8Array(h * w * channels);
  // the source region: all of it, or the centred window of the output's aspect ratio
  const cw = fit === 'crop' ? Math.min(img.width, (img.height * w) / h) : img.width;
  const ch = fit === 'crop' ? Math.min(img.height, (img.width * h) / w) : img.height;
  const ox = (img.width - cw) / 2;
  const oy = (img.height - ch) / 2;
  const sy = ch / h;
  const sx = cw / w;
  for (let y = 0; y < h; y++) {
    const fy = Math.min(img.height - 1, Math.max(0, oy + (y + 0.5) * sy - 0.5));
    const y0 = Math.floor(fy);
    const y1 = Math.min(img.height - 1, y0 + 1);
    const dy = fy - y0;
    for (let x = 0; x < w; x++) {
      const fx = Math.min(img.width - 1, Math.max(0, ox + (x + 0.5) * sx - 0.5));
      const x0 = Math.floor(fx);
      const x1 = Math.min(img.width - 1, x0 + 1);
      const dx = fx - x0;
      for (let c = 0; c < channels; c++) {
        const p = (yy: number, xx: number) => src[(yy * img.width + xx) * channels + c]!;
        const v = (1 - dy) * ((1 - dx) * p(y0, x0) + dx * p(y0, x1)) + dy * ((1 - dx) * p(y1, x0) + dx * p(y1, x1));
        out[(y * w + x) * channels + c] = Math.max(0, Math.min(255, Math.round(v)));
      }
    }
  }
  return out;
}
