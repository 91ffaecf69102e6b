import { availableParallelism } from 'node:os';

/** Default `--threads` of the training commands: every core this process may use, at most 8. */
export function defaultThreads(): number {
  return Math.max(1, Math.min(8, availableParallelism()));
}
