#!/usr/bin/env node
// Copies a `lowbit train` checkpoint into the bundled reference checkpoints
// (packages/models/checkpoints/<name>/model.json + model.weights.bin) with metadata: the exact
// training command and seed, its status (`final` or `in-training`), epochs done, test accuracy
// and the per-epoch log. With --state, also copies the full resumable training state (network,
// optimiser, RNG) to tools/training/state/<name>/ so training can resume on a fresh machine.
// Usage: node tools/training/bundle-checkpoint.mjs <name> <run-dir> [--state]
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const [name, runDir] = process.argv.slice(2);
if (!name || !runDir) {
  console.error('usage: node tools/training/bundle-checkpoint.mjs <name> <run-dir> [--state]');
  process.exit(2);
}
const commands = JSON.parse(readFileSync(join(root, 'tools/training/commands.json'), 'utf8'));
const latest = JSON.parse(readFileSync(join(runDir, 'checkpoints', 'latest.json'), 'utf8'));
const ck = join(runDir, 'checkpoints', latest.checkpoint);
const state = JSON.parse(readFileSync(join(ck, 'state.json'), 'utf8'));
const model = JSON.parse(readFileSync(join(ck, 'model.json'), 'utf8'));
const last = state.history[state.history.length - 1] ?? {};
const final = state.epoch >= state.config.epochs;
model.metadata = {
  producedBy: 'lowbit train',
  status: final ? 'final' : 'in-training',
  command: commands[name],
  seed: state.config.seed,
  config: state.config,
  epochs: state.epoch,
  epochsPlanned: state.config.epochs,
  trainingSeconds: Math.round(state.elapsedSeconds),
  testAccuracy: last.testAccuracy ?? null,
  preprocess: { kind: 'unit' },
  history: state.history,
};
const dest = join(root, 'packages/models/checkpoints', name);
mkdirSync(dest, { recursive: true });
copyFileSync(join(ck, 'model.weights.bin'), join(dest, '.model.weights.bin.tmp'));
writeFileSync(join(dest, '.model.json.tmp'), `${JSON.stringify(model, null, 1)}\n`);
renameSync(join(dest, '.model.weights.bin.tmp'), join(dest, 'model.weights.bin'));
renameSync(join(dest, '.model.json.tmp'), join(dest, 'model.json'));
console.log(`${dest}: ${model.metadata.status}, epoch ${state.epoch}/${state.config.epochs}, test accuracy ${last.testAccuracy}`);
if (process.argv.includes('--state')) {
  const sdest = join(root, 'tools/training/state', name);
  rmSync(sdest, { recursive: true, force: true });
  mkdirSync(join(sdest, 'checkpoints', latest.checkpoint), { recursive: true });
  for (const f of ['model.json', 'model.weights.bin', 'optimizer.bin', 'state.json']) copyFileSync(join(ck, f), join(sdest, 'checkpoints', latest.checkpoint, f));
  writeFileSync(join(sdest, 'checkpoints', 'latest.json'), `${JSON.stringify(latest)}\n`);
  console.log(`${sdest}: resumable state of epoch ${state.epoch}`);
}
if (!existsSync(join(dest, 'model.json'))) process.exit(1);
