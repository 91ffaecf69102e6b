import type { TfjsExport } from './export-types.js';

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
export const fileBytes = (f: ExportFile): number => (typeof f.data === 'string' ? new TextEncoder().encode(f.data).length : f.data.length);
