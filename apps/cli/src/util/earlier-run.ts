import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { LowbitError } from '@lowbit/core';

/**
 * Refuses to start a training over the checkpoints of an earlier one in `out` (they would be
 * replaced step by step, and the earlier run could no longer be resumed) unless the run resumes
 * them or `--force` says to start over.
 */
export function refuseEarlierRun(out: string, command: string, o: { resume?: boolean; force?: boolean }): void {
  if (o.resume || o.force) return;
  if (existsSync(join(out, 'checkpoints', 'latest.json'))) {
    throw new LowbitError('E_OUT', `--out ${out}: holds the checkpoints of an earlier ${command} run (checkpoints/latest.json); continue it with --resume and the same settings, choose another --out, or pass --force to start over`);
  }
}
