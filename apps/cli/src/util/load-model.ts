import { existsSync } from 'node:fs';
import { LowbitError } from '@lowbit/core';
import { isReferenceModel, REFERENCE_MODELS } from '@lowbit/models';
import { loadReference } from '@lowbit/models/node';
import type { Network } from '@lowbit/nn';
import { loadNetwork } from '@lowbit/nn/node';

/** A reference model name (bundled checkpoint) or the path of a lowbit model.json. */
export function loadModelArg(arg: string): Network {
  if (isReferenceModel(arg)) return loadReference(arg);
  if (existsSync(arg)) return loadNetwork(arg);
  throw new LowbitError('E_MODEL', `--model '${arg}' is neither a reference model (${REFERENCE_MODELS.join(', ')}) nor an existing model.json file`);
}
