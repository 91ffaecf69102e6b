import { existsSync, readFileSync } from 'node:fs';
import { LowbitError } from '@lowbit/core';
import { atomicWriteFile } from '@lowbit/core/node';
import type { ReconstructionSnapshot } from '@lowbit/nwq-reconstruct';

/**
 * A PTQ run's saved reconstruction state for `--resume`: the snapshot and the key of the settings
 * that wrote it. Missing, unreadable or written by other settings: `E_NO_CHECKPOINT` / `E_RESUME`
 * naming the file.
 */
export function readPtqState(path: string, key: unknown): ReconstructionSnapshot {
  if (!existsSync(path)) throw new LowbitError('E_NO_CHECKPOINT', `--resume: no saved reconstruction state in '${path}'`);
  let saved: { key?: unknown; snapshot?: ReconstructionSnapshot } | null;
  try {
    saved = JSON.parse(readFileSync(path, 'utf8')) as typeof saved;
  } catch (e) {
    throw new LowbitError('E_RESUME', `--resume: '${path}' is not valid JSON (${(e as Error).message.split('\n')[0]}); delete it to start over`);
  }
  if (!saved || typeof saved !== 'object' || !saved.snapshot || typeof saved.snapshot !== 'object') throw new LowbitError('E_RESUME', `--resume: '${path}' holds no reconstruction snapshot; delete it to start over`);
  if (JSON.stringify(saved.key) !== JSON.stringify(key)) throw new LowbitError('E_RESUME', `--resume: '${path}' was written by a run with other settings; use the same command as that run`);
  return saved.snapshot;
}

/** Writes the state {@link readPtqState} reads (atomically: a stop mid-write keeps the previous one). */
export function writePtqState(path: string, key: unknown, snapshot: ReconstructionSnapshot): void {
  atomicWriteFile(path, JSON.stringify({ key, snapshot }));
}
