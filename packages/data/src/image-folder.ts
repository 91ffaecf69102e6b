import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative } from 'node:path';
import { LowbitError } from '@lowbit/core';
import { type ChannelOrder, decodeImage, IMAGE_FITS, type ImageFit, toChannels } from './image-decode.js';
import { type LabeledSet, makeLabeledSet } from './labeled-set.js';

export interface ImageFolderOptions {
  /** Output size `[height, width]`; images are resized (bilinear) to it. */
  size: [number, number];
  /** 1 (grayscale) or 3 (colour, in `channelOrder`). */
  channels: 1 | 3;
  /** Channel order of 3-channel output: 'rgb' (default) or 'bgr'; grayscale output ignores it. */
  channelOrder?: ChannelOrder;
  /** `stretch` (default: the whole image resized) or `crop` (the centred region of the output's aspect ratio). */
  fit?: ImageFit;
  /** Take class labels from sub-folder names (sorted; default true when sub-folders exist). */
  labelsFromSubfolders?: boolean;
  /** Read at most this many images (after sorting paths). */
  limit?: number;
}

export interface ImageFolderSet extends LabeledSet {
  files: string[];
  classNames: string[];
}

const IMAGE_EXT = new Set(['.png', '.jpg', '.jpeg']);

/**
 * The image files under `dir`, in sorted path order. Hidden entries (a leading '.', such as macOS
 * `._x.png` resource forks) are skipped; a link to a file is followed, a link to a folder is not;
 * anything with an image extension that is not a regular file (a broken link, a pipe, a device)
 * is an error naming it rather than a read that fails or never ends.
 */
function listImages(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.name.startsWith('.')) continue;
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (IMAGE_EXT.has(extname(e.name).toLowerCase())) {
        let st: ReturnType<typeof statSync>;
        try {
          st = statSync(p);
        } catch (err) {
          throw new LowbitError('E_IMAGE', `${p}: cannot be read (${e.isSymbolicLink() ? 'a link to a missing file' : (err as NodeJS.ErrnoException).code})`);
        }
        if (st.isFile()) out.push(p);
        else if (!st.isDirectory()) throw new LowbitError('E_IMAGE', `${p}: is not a regular file (a pipe, socket or device); image folders hold image files`);
      }
    }
  };
  walk(dir);
  return out;
}

/**
 * Reads a folder of PNG/JPEG images (recursively, in sorted path order) into a labelled set of
 * bytes, resized and converted to the network's input layout (channels, and their order for
 * colour). With labels from sub-folders,
 * `root/<class>/…` gives class indices in sorted class-name order; otherwise every label is 0.
 */
export function readImageFolder(dir: string, o: ImageFolderOptions): ImageFolderSet {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(dir);
  } catch {
    throw new LowbitError('E_DATA_MISSING', `image folder '${dir}' does not exist`);
  }
  if (!st.isDirectory()) throw new LowbitError('E_DATA', `'${dir}' is not a directory`);
  const [h, w] = o.size;
  if (!(Number.isInteger(h) && h > 0 && Number.isInteger(w) && w > 0)) throw new LowbitError('E_ARG', `image size must be positive integers, got ${h}×${w}`);
  const order = o.channelOrder ?? 'rgb';
  if (order !== 'rgb' && order !== 'bgr') throw new LowbitError('E_ARG', `channel order must be 'rgb' or 'bgr', got '${order}'`);
  const fit = o.fit ?? 'stretch';
  if (!IMAGE_FITS.includes(fit)) throw new LowbitError('E_ARG', `image fit must be 'stretch' or 'crop', got '${fit}'`);
  let files = listImages(dir);
  if (files.length === 0) throw new LowbitError('E_DATA', `image folder '${dir}' has no .png, .jpg or .jpeg files`);
  if (o.limit !== undefined) files = files.slice(0, o.limit);
  const subdirs = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
  // labelled when images sit in sub-folders (an empty sub-folder beside flat images does not count;
  // in a labelled folder an empty class keeps its index)
  const inSubfolder = files.some((f) => relative(dir, f).split(/[\\/]/).length > 1);
  const useLabels = o.labelsFromSubfolders ?? inSubfolder;
  const classNames = useLabels ? subdirs : ['unlabelled'];
  const per = h * w * o.channels;
  const images = new Uint8Array(files.length * per);
  const labels = new Uint8Array(files.length);
  files.forEach((f, i) => {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(f);
    } catch (e) {
      throw new LowbitError('E_IMAGE', `${f}: cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    images.set(toChannels(decodeImage(bytes, f), h, w, o.channels, order, fit), i * per);
    if (useLabels) {
      const cls = relative(dir, f).split(/[\\/]/)[0]!;
      const k = classNames.indexOf(cls);
      if (k < 0) throw new LowbitError('E_DATA', `${f}: labels come from sub-folders (${classNames.slice(0, 3).map((c) => `'${c}'`).join(', ')}${classNames.length > 3 ? ', …' : ''}), but this image is not inside one; put every image in its class folder`);
      labels[i] = k;
    }
  });
  const set = makeLabeledSet(`images:${dir}`, images, [h, w, o.channels], labels, Math.max(1, classNames.length));
  return { ...set, files, classNames };
}
