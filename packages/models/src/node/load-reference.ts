import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LowbitError } from '@lowbit/core';
import type { Network } from '@lowbit/nn';
import { loadNetwork, readNetworkJson } from '@lowbit/nn/node';
import { REFERENCE_MODELS, type ReferenceModelName } from '../registry.js';

/** Directory of the trained checkpoints shipped with this package (works from src/ and dist/). */
export const CHECKPOINTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'checkpoints');

/** Path of a bundled reference checkpoint's model.json. */
export function referencePath(name: ReferenceModelName): string {
  return join(CHECKPOINTS_DIR, name, 'model.json');
}

/** True when the trained checkpoint of `name` is bundled. */
export function hasReference(name: ReferenceModelName): boolean {
  return existsSync(referencePath(name));
}

/**
 * Loads a trained reference network by name from the checkpoints bundled with this package
 * (no network access). Its metadata (training command, seed, test accuracy, preprocessing) is
 * available through {@link referenceMetadata}.
 */
export function loadReference(name: string): Network {
  if (!(REFERENCE_MODELS as readonly string[]).includes(name)) {
    throw new LowbitError('E_MODEL', `unknown reference model '${name}' (expected one of: ${REFERENCE_MODELS.join(', ')})`);
  }
  const p = referencePath(name as ReferenceModelName);
  if (!existsSync(p)) throw new LowbitError('E_MODEL', `the trained checkpoint of '${name}' is not bundled (missing ${p})`);
  return loadNetwork(p);
}

export function referenceMetadata(name: ReferenceModelName): Record<string, unknown> {
  return readNetworkJson(referencePath(name)).metadata ?? {};
}
