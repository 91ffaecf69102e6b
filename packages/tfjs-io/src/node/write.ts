import { join } from 'node:path';
import { atomicWriteFiles } from '@lowbit/core/node';
import type { TfjsExport } from '../export-types.js';

/** Writes an export as `dir/model.json` + its weight file: both files or neither. */
export function writeTfjsExport(dir: string, e: TfjsExport): { modelJson: string; bytes: number } {
  const json = `${JSON.stringify(e.modelJson)}\n`;
  const packed = e.modelJson['lowbitPacked'] as { path: string } | undefined;
  const weightsFile = packed ? packed.path : 'group1-shard1of1.bin';
  atomicWriteFiles([
    { path: join(dir, weightsFile), data: e.weightData },
    { path: join(dir, 'model.json'), data: json },
  ]);
  return { modelJson: join(dir, 'model.json'), bytes: e.weightData.length + Buffer.byteLength(json) };
}
