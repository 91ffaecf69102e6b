import { existsSync, readdirSync, statSync } from 'node:fs';

/** A directory holding Fashion-MNIST's training (`train-images-idx3-ubyte`) or test (`t10k-images-idx3-ubyte`) images, gzipped or not. */
export function isFashionMnistDir(path: string, split: 'train' | 'test' = 'train'): boolean {
  const prefix = split === 'train' ? 'train-images-idx3-ubyte' : 't10k-images-idx3-ubyte';
  return existsSync(path) && statSync(path).isDirectory() && readdirSync(path).some((f) => f.startsWith(prefix));
}
