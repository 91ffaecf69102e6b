import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LowbitError } from '@lowbit/core';
import { parseIdx } from './idx.js';
import { type LabeledSet, makeLabeledSet } from './labeled-set.js';

/** Where Debian's `dataset-fashion-mnist` package installs the data. */
export const DEFAULT_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

export { FASHION_MNIST_CLASSES } from './classes.js';

const FILES = {
  train: ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte'],
  test: ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'],
} as const;

function findFile(dir: string, base: string): string {
  for (const f of [`${base}.gz`, base]) {
    const p = join(dir, f);
    if (existsSync(p)) return p;
  }
  throw new LowbitError(
    'E_DATA_MISSING',
    `Fashion-MNIST file '${base}.gz' (or '${base}') not found in '${dir}'. ` +
      `Install the dataset with 'apt-get install dataset-fashion-mnist' (it goes to ${DEFAULT_FASHION_MNIST_DIR}) or pass --data DIR.`,
  );
}

/** Reads an images + labels pair of IDX files into a {@link LabeledSet}. */
export function readIdxPair(imagesPath: string, labelsPath: string, name: string): LabeledSet {
  const read = (p: string) => {
    try {
      return readFileSync(p);
    } catch (e) {
      throw new LowbitError('E_DATA_MISSING', `cannot read '${p}': ${(e as Error).message}`);
    }
  };
  const img = parseIdx(read(imagesPath), imagesPath);
  const lab = parseIdx(read(labelsPath), labelsPath);
  if (img.shape.length !== 3 && img.shape.length !== 4) {
    throw new LowbitError('E_IDX', `${imagesPath}: images must be [N, H, W] or [N, H, W, C], got [${img.shape.join(', ')}]`);
  }
  if (lab.shape.length !== 1) throw new LowbitError('E_IDX', `${labelsPath}: labels must be [N], got [${lab.shape.join(', ')}]`);
  if (lab.shape[0] !== img.shape[0]) {
    throw new LowbitError('E_IDX', `${labelsPath}: ${lab.shape[0]} labels for ${img.shape[0]} images in ${imagesPath}`);
  }
  const shape: [number, number, number] = [img.shape[1]!, img.shape[2]!, img.shape[3] ?? 1];
  return makeLabeledSet(name, img.data, shape, lab.data, 10);
}

/** Loads the Fashion-MNIST `train` (60k) or `test` (10k) split from `dir`. */
export function loadFashionMnist(split: 'train' | 'test', dir = DEFAULT_FASHION_MNIST_DIR): LabeledSet {
  if (!existsSync(dir)) {
    throw new LowbitError(
      'E_DATA_MISSING',
      `Fashion-MNIST directory '${dir}' does not exist. Install the dataset with 'apt-get install dataset-fashion-mnist' or pass --data DIR.`,
    );
  }
  const [i, l] = FILES[split];
  return readIdxPair(findFile(dir, i), findFile(dir, l), `fashion-mnist/${split}`);
}
