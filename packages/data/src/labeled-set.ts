import { LowbitError } from '@lowbit/core';

/**
 * A labelled image set held as bytes in memory (never as one big tensor): `images` is
 * `[N, H, W, C]` uint8, `labels` N class indices. Batches become float tensors on demand.
 */
export interface LabeledSet {
  name: string;
  images: Uint8Array;
  labels: Uint8Array;
  /** `[H, W, C]` of one image. */
  imageShape: [number, number, number];
  size: number;
  numClasses: number;
}

export function makeLabeledSet(name: string, images: Uint8Array, imageShape: [number, number, number], labels: Uint8Array, numClasses = 10): LabeledSet {
  const per = imageShape[0] * imageShape[1] * imageShape[2];
  if (images.length % per !== 0) throw new LowbitError('E_DATA', `${name}: ${images.length} image bytes is not a multiple of one image (${per})`);
  const size = images.length / per;
  if (labels.length !== size) throw new LowbitError('E_DATA', `${name}: ${size} images but ${labels.length} labels`);
  for (let i = 0; i < labels.length; i++) {
    if (labels[i]! >= numClasses) throw new LowbitError('E_DATA', `${name}: label ${labels[i]} at index ${i} is outside 0..${numClasses - 1}`);
  }
  return { name, images, labels, imageShape, size, numClasses };
}

/** The first `n` examples, or those at `indices`, as a new (copied) set. */
export function subset(set: LabeledSet, sel: number | ArrayLike<number>, name = `${set.name}[subset]`): LabeledSet {
  const per = set.imageShape[0] * set.imageShape[1] * set.imageShape[2];
  const idx = typeof sel === 'number' ? Array.from({ length: Math.min(sel, set.size) }, (_, i) => i) : Array.from(sel);
  const images = new Uint8Array(idx.length * per);
  const labels = new Uint8Array(idx.length);
  idx.forEach((j, i) => {
    if (j < 0 || j >= set.size) throw new LowbitError('E_DATA', `${set.name}: index ${j} out of range 0..${set.size - 1}`);
    images.set(set.images.subarray(j * per, (j + 1) * per), i * per);
    labels[i] = set.labels[j]!;
  });
  return { ...set, name, images, labels, size: idx.length };
}

/**
 * A short content fingerprint of a set (its size, image shape, and a 32-bit FNV-1a hash over the
 * image bytes and labels): equal for the same images under different names (e.g. the bundled
 * Fashion-MNIST test set and the one read from the dataset's files). Use it to tell whether two
 * figures were measured on the same images; it is not a cryptographic hash.
 */
export function setFingerprint(set: LabeledSet): string {
  let h = 0x811c9dc5;
  const mix = (bytes: Uint8Array) => {
    for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  };
  mix(set.images);
  mix(set.labels);
  return `${set.size}x${set.imageShape.join('x')}:${(h >>> 0).toString(16).padStart(8, '0')}`;
}
