import { lstatSync, readFileSync, unlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { atomicWriteFiles } from '@lowbit/core/node';
import type { TfjsExport } from '../export-types.js';
import { type ExportFile, fileBytes, tfjsExportFiles } from '../export-files.js';

/**
 * Writes an export as `dir/model.json` + its weight file, and any `extra` files beside them (a
 * report): all files or none. `bytes` counts model.json and the weight file. A model already in
 * `dir` is replaced whole: its weight files that the new model.json does not use are removed (an
 * export to another target would otherwise leave the old shards beside the new model).
 */
export function writeTfjsExport(dir: string, e: TfjsExport, extra: readonly ExportFile[] = []): { modelJson: string; bytes: number } {
  const files = tfjsExportFiles(e);
  const stale = weightFilesOf(join(dir, 'model.json'));
  atomicWriteFiles([...files, ...extra].map((f) => ({ path: join(dir, f.name), data: f.data })));
  const written = new Set([...files, ...extra].map((f) => f.name));
  for (const name of stale) if (!written.has(name)) unlinkSync(join(dir, name));
  return { modelJson: join(dir, 'model.json'), bytes: files.reduce((s, f) => s + fileBytes(f), 0) };
}

/** The weight files a model.json in the folder lists, that are plain files of that folder (nothing if it is not a model). */
function weightFilesOf(modelJson: string): string[] {
  let j: unknown;
  try {
    j = JSON.parse(readFileSync(modelJson, 'utf8'));
  } catch {
    return [];
  }
  // a stock model.json lists its shards in weightsManifest[].paths, a lowbit-packed one its file in lowbitPacked.path
  const m = j as { weightsManifest?: unknown; lowbitPacked?: { path?: unknown } } | null;
  const groups = Array.isArray(m?.weightsManifest) ? (m.weightsManifest as unknown[]) : [];
  const names: unknown[] = groups.flatMap((g) => (Array.isArray((g as { paths?: unknown })?.paths) ? ((g as { paths: unknown[] }).paths as unknown[]) : []));
  if (m?.lowbitPacked && typeof m.lowbitPacked === 'object') names.push(m.lowbitPacked.path);
  return names.filter((p): p is string => {
    if (typeof p !== 'string' || p === '' || basename(p) !== p || p === 'model.json') return false;
    try {
      return lstatSync(join(modelJson, '..', p)).isFile();
    } catch {
      return false;
    }
  });
}
