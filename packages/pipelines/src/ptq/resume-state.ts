import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { checkSchema, LowbitError } from '@lowbit/core';
import { atomicWriteFile } from '@lowbit/core/node';
import type { ReconstructionSnapshot } from '@lowbit/nwq-reconstruct';

const tensorState = z.object({ shape: z.array(z.number().int().nonnegative()), values: z.array(z.number()) }).refine((t) => t.values.length === t.shape.reduce((a, b) => a * b, 1), 'values must hold one number per element of shape');
const rngState = z.unknown();

/** The reconstruction snapshot of a ptq state file. */
export const snapshotSchema = z.object({
  unitIndex: z.number().int().nonnegative(),
  step: z.number().int().nonnegative(),
  samplerRng: rngState,
  sampler: z.object({ order: z.array(z.number().int().nonnegative()), pos: z.number().int().nonnegative() }),
  mixRng: rngState,
  variables: z.record(z.string(), tensorState),
  optimizers: z.object({ weights: z.object({ iterations: z.number().int().nonnegative(), tensors: z.record(z.string(), tensorState) }), activations: z.object({ iterations: z.number().int().nonnegative(), tensors: z.record(z.string(), tensorState) }) }),
  units: z.array(z.object({ name: z.string(), iterations: z.number().int().nonnegative(), seconds: z.number(), finalLoss: z.number() })),
});

/** sha256 of the settings key and the snapshot, as written: a file changed by hand (a variable removed, another step) no longer matches. */
const checksum = (key: unknown, snapshot: unknown) => createHash('sha256').update(JSON.stringify({ key, snapshot })).digest('hex');

/**
 * A PTQ run's saved reconstruction state for `--resume`: the snapshot and the key of the settings
 * that wrote it. Missing, unreadable or written by other settings: `E_NO_CHECKPOINT` / `E_RESUME`
 * naming the file. The file carries a checksum of its settings and snapshot: one edited or damaged
 * by anything but lowbit is refused rather than resumed to a different result.
 */
export function readPtqState(path: string, key: unknown): ReconstructionSnapshot {
  if (!existsSync(path)) throw new LowbitError('E_NO_CHECKPOINT', `--resume: no saved reconstruction state in '${path}'`);
  let saved: { key?: unknown; snapshot?: ReconstructionSnapshot; sha256?: unknown } | null;
  try {
    saved = JSON.parse(readFileSync(path, 'utf8')) as typeof saved;
  } catch (e) {
    throw new LowbitError('E_RESUME', `--resume: '${path}' is not valid JSON (${(e as Error).message.split('\n')[0]}); delete it to start over`);
  }
  if (!saved || typeof saved !== 'object' || !saved.snapshot || typeof saved.snapshot !== 'object') throw new LowbitError('E_RESUME', `--resume: '${path}' holds no reconstruction snapshot; delete it to start over`);
  if (saved.sha256 !== checksum(saved.key, saved.snapshot)) throw new LowbitError('E_RESUME', `--resume: '${path}' was changed or damaged after lowbit wrote it (its checksum does not match); delete it to start over`);
  if (JSON.stringify(saved.key) !== JSON.stringify(key)) throw new LowbitError('E_RESUME', `--resume: '${path}' was written by a run with other settings (${keyDifference(saved.key, key)}); use the same command as that run`);
  return checkSchema(snapshotSchema, saved.snapshot, `--resume: '${path}' snapshot`, { code: 'E_RESUME' }) as ReconstructionSnapshot;
}

/** Writes the state {@link readPtqState} reads (atomically: a stop mid-write keeps the previous one). */
export function writePtqState(path: string, key: unknown, snapshot: ReconstructionSnapshot): void {
  atomicWriteFile(path, JSON.stringify({ key, snapshot, sha256: checksum(key, snapshot) }));
}

/** The first setting that differs between a saved key and this run's, as "<path> is <here> here, <saved> in the state file". */
function keyDifference(saved: unknown, here: unknown, path = ''): string {
  const show = (v: unknown) => (v === undefined ? 'not set' : JSON.stringify(v));
  if (saved && here && typeof saved === 'object' && typeof here === 'object' && !Array.isArray(saved) && !Array.isArray(here)) {
    const a = saved as Record<string, unknown>;
    const b = here as Record<string, unknown>;
    for (const k of [...new Set([...Object.keys(b), ...Object.keys(a)])]) {
      if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) return keyDifference(a[k], b[k], path ? `${path}.${k}` : k);
    }
  }
  return `${path || 'the settings'} is ${show(here)} here, ${show(saved)} in the state file`;
}
