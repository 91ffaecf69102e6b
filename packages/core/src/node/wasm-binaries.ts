import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * Where @tensorflow/tfjs-backend-wasm's `.wasm` binaries are on disk (the copy lowbit runs with):
 * serve `dir` (e.g. at `/wasm/`, then `initBackend({ wasmPaths: '/wasm/' })` in the page) or copy
 * `files` into a static site.
 */
export function wasmBinaries(): { dir: string; files: string[] } {
  const dir = join(dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
  return { dir, files: readdirSync(dir).filter((f) => f.endsWith('.wasm')) };
}
