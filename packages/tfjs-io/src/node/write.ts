import { join } from 'node:path';
import { atomicWriteFiles } from '@lowbit/core/node';
import type { TfjsExport } from '../export-types.js';

/** A file of an export: its name in the export directory and its contents. */
export interface ExportFile {
  name: string;
  data: string | Uint8Array;
}

/** The files of an export, as {@link writeTfjsExport} writes them: `model.json` (compact JSON) and its weight file. */
export function tfjsExportFiles(e: TfjsExport): ExportFile[] {
  const packed = e.modelJson['lowbitPacked'] as { path: string } | undefined;
  return [
    { name: packed ? packed.path : 'group1-shard1of1.bin', data: e.weightData },
    { name: 'model.json', data: `${JSON.stringify(e.modelJson)}\n` },
  ];
}

/** Bytes of a file's contents (UTF-8 for text). */
export const fileBytes = (f: ExportFile): number => (typeof f.data === 'string' ? Buffer.byteLength(f.data) : f.data.length);

/**
 * Writes an export as `dir/model.json` + its weight file, and any `extra` files beside them (a
 * report): all files or none. `bytes` counts model.json and the weight file.
 */
export function writeTfjsExport(dir: string, e: TfjsExport, extra: readonly ExportFile[] = []): { modelJson: string; bytes: number } {
  const files = tfjsExportFiles(e);
  atomicWriteFiles([...files, ...extra].map((f) => ({ path: join(dir, f.name), data: f.data })));
  return { modelJson: join(dir, 'model.json'), bytes: files.reduce((s, f) => s + fileBytes(f), 0) };
}
