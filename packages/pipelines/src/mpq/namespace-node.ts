import { mpq as base } from './namespace.js';
import { loadOneShot, saveOneShot } from './one-shot-io.js';
import { readPolicyFile } from './policy-file.js';
import { trainOneShot } from './train-loop.js';

/** {@link base | mpq} plus the Node parts: one-shot training with checkpoints, one-shot and policy files. */
export const mpq = { ...base, train: trainOneShot, load: loadOneShot, save: saveOneShot, readPolicy: readPolicyFile } as const;
