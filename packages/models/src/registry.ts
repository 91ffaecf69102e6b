import { LowbitError } from '@lowbit/core';
import type { NetworkSpec } from '@lowbit/nn';
import { mbv2FmSpec } from './mbv2-fm.js';
import { resnetFmSpec } from './resnet-fm.js';

/** Names of lowbit's reference architectures. */
export const REFERENCE_MODELS = ['resnet-fm', 'mbv2-fm'] as const;
export type ReferenceModelName = (typeof REFERENCE_MODELS)[number];

export function isReferenceModel(name: string): name is ReferenceModelName {
  return (REFERENCE_MODELS as readonly string[]).includes(name);
}

/** The spec of a reference architecture by name. */
export function referenceSpec(name: string): NetworkSpec {
  if (name === 'resnet-fm') return resnetFmSpec();
  if (name === 'mbv2-fm') return mbv2FmSpec();
  throw new LowbitError('E_MODEL', `unknown reference model '${name}' (expected one of: ${REFERENCE_MODELS.join(', ')})`);
}
