import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import type * as tfjs from '@tensorflow/tfjs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

const bin = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'bin.js');

/** Runs the built CLI with plain node, as a user would. */
export function lowbit(...args: string[]) {
  expect(existsSync(bin), 'build the CLI first (nx runs build before test)').toBe(true);
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 600_000 });
}

/** Writes a tfjs LayersModel as `model.json` + `weights.bin` in `dir` (what a user's converter output looks like). */
export async function saveLayersModel(model: tfjs.LayersModel, dir: string): Promise<void> {
  // loaded here, not at the top: tests that only spawn the CLI should not load the full tfjs bundle
  const { io } = await import('@tensorflow/tfjs');
  await model.save(
    io.withSaveHandler(async (a) => {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'weights.bin'), new Uint8Array(a.weightData as ArrayBuffer));
      writeFileSync(join(dir, 'model.json'), JSON.stringify({ format: 'layers-model', modelTopology: a.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }] }));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
}

/** stderr lines without Node's own runtime warnings (e.g. NO_COLOR vs FORCE_COLOR in CI), which are not lowbit's output. */
export function stderrLines(stderr: string): string[] {
  return stderr
    .trim()
    .split('\n')
    .filter((l) => l && !/^\(node:\d+\) Warning: |^\(Use `node --trace-warnings/.test(l));
}
