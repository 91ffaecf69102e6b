import { type BackendName, initBackend } from '@lowbit/core';

export const BACKENDS: BackendName[] = ['wasm', 'cpu'];

export async function use(backend: BackendName): Promise<void> {
  await initBackend({ backend, fallback: false });
}
