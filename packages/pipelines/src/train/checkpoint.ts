import * as tf from '@tensorflow/tfjs-core';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LowbitError, type Optimizer, type RngState } from '@lowbit/core';
import { atomicWriteFile } from '@lowbit/core/node';
import type { Network } from '@lowbit/nn';
import { loadNetwork, saveNetwork } from '@lowbit/nn/node';

/** Everything besides the network weights that an exact resume needs. */
export interface TrainState<C = unknown> {
  /** Epochs completed. */
  epoch: number;
  /** Optimiser steps completed. */
  step: number;
  rng: RngState;
  config: C;
  history: Array<Record<string, number>>;
  elapsedSeconds: number;
}

const LATEST = 'latest.json';
/** Checkpoint directory names: `epoch-NNNN` (end of an epoch) or `step-NNNNNNNN` (within one). */
const CHECKPOINT_NAME = /^(epoch-\d{4}|step-\d{8})$/;
const statMtime = (p: string) => statSync(p).mtimeMs;

/**
 * Writes a checkpoint as a new directory `epoch-NNNN` (network, optimiser state, train state),
 * built under a temporary name and renamed when complete; then `latest.json` is replaced
 * atomically. An interruption at any point leaves the previous checkpoint intact and pointed to.
 * Keeps the newest `keep` checkpoints.
 */
export async function saveCheckpoint<C>(
  dir: string,
  net: Network,
  optimizer: Optimizer,
  state: TrainState<C>,
  keep = 2,
  more: { name?: string; extra?: Record<string, tf.Tensor> } = {},
): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const name = more.name ?? `epoch-${String(state.epoch).padStart(4, '0')}`;
  if (!CHECKPOINT_NAME.test(name)) throw new Error(`checkpoint name '${name}' must match ${CHECKPOINT_NAME}`);
  const tmp = join(dir, `.${name}.${process.pid}.tmp`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  await saveNetwork(net, join(tmp, 'model.json'));
  const opt = optimizer.state();
  const named = Object.entries(opt.tensors).map(([n, t]) => ({ name: n, tensor: t }));
  const { data, specs } = await tf.io.encodeWeights(named);
  writeFileSync(join(tmp, 'optimizer.bin'), new Uint8Array(data));
  let extraSpecs: tf.io.WeightsManifestEntry[] | undefined;
  if (more.extra) {
    const enc = await tf.io.encodeWeights(Object.entries(more.extra).map(([n, t]) => ({ name: n, tensor: t })));
    writeFileSync(join(tmp, 'extra.bin'), new Uint8Array(enc.data));
    extraSpecs = enc.specs;
  }
  writeFileSync(join(tmp, 'state.json'), `${JSON.stringify({ ...state, optimizer: { name: optimizer.name, iterations: opt.iterations, specs }, ...(extraSpecs ? { extra: extraSpecs } : {}) }, null, 1)}\n`);
  const final = join(dir, name);
  rmSync(final, { recursive: true, force: true });
  renameSync(tmp, final);
  atomicWriteFile(join(dir, LATEST), `${JSON.stringify({ checkpoint: name, epoch: state.epoch })}\n`);
  const all = readdirSync(dir)
    .filter((f) => CHECKPOINT_NAME.test(f))
    .sort((a, b) => statMtime(join(dir, a)) - statMtime(join(dir, b)) || a.localeCompare(b));
  for (const old of all.slice(0, Math.max(0, all.length - keep))) rmSync(join(dir, old), { recursive: true, force: true });
  return final;
}

/** True when `dir` holds a checkpoint to resume from. */
export function hasCheckpoint(dir: string): boolean {
  return existsSync(join(dir, LATEST));
}

/** Loads the latest checkpoint: the network, the train state and the optimiser tensors. */
export function loadCheckpoint<C>(dir: string): {
  net: Network;
  state: TrainState<C>;
  optimizer: { iterations: number; tensors: Record<string, tf.Tensor> };
  extra: Record<string, tf.Tensor> | null;
  path: string;
} {
  const latestPath = join(dir, LATEST);
  if (!existsSync(latestPath)) throw new LowbitError('E_NO_CHECKPOINT', `no checkpoint to resume from in '${dir}' (missing ${LATEST})`);
  const latest = JSON.parse(readFileSync(latestPath, 'utf8')) as { checkpoint: string };
  const path = join(dir, latest.checkpoint);
  const net = loadNetwork(join(path, 'model.json'));
  const raw = JSON.parse(readFileSync(join(path, 'state.json'), 'utf8')) as TrainState<C> & {
    optimizer: { iterations: number; specs: tf.io.WeightsManifestEntry[] };
    extra?: tf.io.WeightsManifestEntry[];
  };
  const decode = (file: string, specs: tf.io.WeightsManifestEntry[]) => {
    const bin = readFileSync(join(path, file));
    return tf.io.decodeWeights(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer, specs);
  };
  const tensors = decode('optimizer.bin', raw.optimizer.specs);
  const { optimizer, extra: extraSpecs, ...state } = raw;
  const extra = extraSpecs ? decode('extra.bin', extraSpecs) : null;
  return { net, state, optimizer: { iterations: optimizer.iterations, tensors }, extra, path };
}
