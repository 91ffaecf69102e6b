import { type ChannelOrder, decodeImageAsync, type ImageFit, type Preprocess, preprocessInto, toChannels } from '@lowbit/data';
import type { ImageRows } from '@lowbit/pipelines';

/** Image files among dropped or chosen files (by extension), in a stable order. */
export function imageFiles(files: readonly File[]): File[] {
  return files.filter((f) => /\.(png|jpe?g)$/i.test(f.name)).sort((a, b) => (pathOf(a) < pathOf(b) ? -1 : pathOf(a) > pathOf(b) ? 1 : 0));
}

export const pathOf = (f: File): string => (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name;

/**
 * Decodes `files` with the browser's decoder and turns them into model input rows `[N, H, W, C]`:
 * fitted to H×W, `C` channels in `order`, bytes mapped by `preprocess`. Reports each image done.
 */
export async function imagesToRows(files: readonly File[], shape: [number, number, number], o: { order: ChannelOrder; fit: ImageFit; preprocess: Preprocess; onImage?: (done: number) => void }): Promise<ImageRows> {
  const [h, w, c] = shape;
  if (c !== 1 && c !== 3) throw new Error(`the model takes ${c} channels per pixel; images can give 1 or 3`);
  const per = h * w * c;
  const data = new Float32Array(files.length * per);
  for (let i = 0; i < files.length; i++) {
    const img = await decodeImageAsync(files[i]!, pathOf(files[i]!));
    preprocessInto(toChannels(img, h, w, c, o.order, o.fit), data, c, o.preprocess, i * per);
    o.onImage?.(i + 1);
  }
  return { data, shape: [files.length, h, w, c] };
}
