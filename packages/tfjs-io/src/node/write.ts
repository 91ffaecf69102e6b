import { join } from 'node:path';
import { atomicWriteFiles } from '@lowbit/core/node';
import type { TfjsExport } from '../export-types.js';
import { type ExportFile, fileBytes, tfjsExportFiles } from '../export-files.js';

/**
 * Writes an export as `dir/model.json` + its weight file, and any `extra` files beside them (a
 * report): all files or none. `bytes` counts model.json and the weight file.
 */
export function writeTfjsExport(dir: string, e: TfjsExport, extra: readonly ExportFile[] = []): { modelJson: string; bytes: number } {
  const files = tfjsExportFiles(e);
  atomicWriteFiles([...files, ...extra].map((f) => ({ path: join(dir, f.name), data: f.data })));
  return { modelJson: join(dir, 'model.json'), bytes: files.reduce((s, f) => s + fileBytes(f), 0) };
}
