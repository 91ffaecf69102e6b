import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, LowbitError, Rng } from '@lowbit/core';
import { disposeNetwork, forward } from '@lowbit/nn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../src/index.js';

// Fuzz: seeded random mutations of real model.json files (a lowbit network, a TF.js LayersModel
// trained by PyTorch, a TF.js GraphModel from npm). Every mutated file must either load into a
// network that runs, or fail with a LowbitError (a clear one-line message) — never another
// exception (a TypeError deep in an importer, a wasm abort), never a hang.

const root = fileURLToPath(new URL('../../../', import.meta.url));
const FIXTURES = [
  { name: 'lowbit-network', json: join(root, 'packages/models/checkpoints/resnet-fm/model.json') },
  { name: 'layers-model', json: join(root, 'tools/foreign/models/foreign-resnet/model.json') },
  { name: 'graph-model', json: join(root, 'packages/tfjs-io/test/fixtures/human-models/age.json') },
];
const CASES = Number(process.env.LOWBIT_FUZZ_CASES ?? 120);

const dir = mkdtempSync(join(tmpdir(), 'lowbit-fuzz-'));
beforeAll(() => initBackend({ backend: 'wasm' }));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Every place in a JSON value a mutation can hit: its parent and the key or index there. */
function places(v: Json, out: Array<{ parent: Json[] | { [k: string]: Json }; key: string | number }> = []) {
  if (Array.isArray(v)) {
    v.forEach((c, i) => {
      out.push({ parent: v, key: i });
      places(c, out);
    });
  } else if (v && typeof v === 'object') {
    for (const [k, c] of Object.entries(v)) {
      out.push({ parent: v, key: k });
      places(c, out);
    }
  }
  return out;
}

const ODD: Json[] = [null, -1, 0, 1.5, 1e9, -1e9, 'abc', '', [], {}, true, 'NaN', [1, 2, 3], [[0, 0], [0, 0]], 'same', 'valid', '../../x.bin', 3];

/** One random mutation: delete, replace with an odd value, scale or negate a number, drop or duplicate an array entry. */
function mutate(doc: Json, rng: Rng): string {
  const all = places(doc);
  const p = all[Math.floor(rng.float() * all.length)]!;
  const { parent, key } = p;
  const old = (parent as Record<string | number, Json>)[key] as Json;
  const kind = Math.floor(rng.float() * 5);
  const at = `${String(key)}=${JSON.stringify(old)?.slice(0, 30)}`;
  if (kind === 0) {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key as string];
    return `delete ${at}`;
  }
  if (kind === 1 && typeof old === 'number') {
    const v = [-old, old * 1000, old + 1, Math.floor(old / 2), old + 0.5][Math.floor(rng.float() * 5)]!;
    (parent as Record<string | number, Json>)[key] = v;
    return `number ${at} → ${v}`;
  }
  if (kind === 2 && Array.isArray(parent)) {
    parent.splice(key as number, 0, structuredClone(old));
    return `duplicate ${at}`;
  }
  const v = structuredClone(ODD[Math.floor(rng.float() * ODD.length)]!);
  (parent as Record<string | number, Json>)[key] = v;
  return `replace ${at} → ${JSON.stringify(v)}`;
}

describe('fuzz: mutated model.json files give a clear error or a working model', () => {
  it.each(FIXTURES)('$name: $json', async ({ name, json }) => {
    const text = readFileSync(json, 'utf8');
    const original = JSON.parse(text) as { weightsManifest: Array<{ paths: string[] }> };
    const rng = new Rng(name.length * 7919 + Number(process.env.LOWBIT_FUZZ_SEED ?? 0));
    const outcomes = { loaded: 0, error: 0 };
    const codes = new Map<string, number>();
    const leaks: string[] = [];
    for (let i = 0; i < CASES; i++) {
      const tensorsBefore = tf.memory().numTensors;
      const d = join(dir, `${name}-${i}`);
      mkdirSync(d);
      for (const g of original.weightsManifest) for (const p of g.paths) copyFileSync(join(dirname(json), p), join(d, basename(p)));
      const doc = JSON.parse(text) as Json;
      const steps = Array.from({ length: 1 + Math.floor(rng.float() * 3) }, () => mutate(doc, rng));
      const path = join(d, 'model.json');
      writeFileSync(path, JSON.stringify(doc));
      try {
        const m = await loadModel(path);
        try {
          // a model that loads must also run: one image of its input shape
          tf.tidy(() => {
            const out = forward(m.net, tf.zeros([1, ...m.net.inputShape])).output;
            out.dataSync();
          });
        } finally {
          if (m.owned) disposeNetwork(m.net);
        }
        outcomes.loaded++;
      } catch (e) {
        if (!(e instanceof LowbitError)) throw new Error(`case ${i} (${steps.join('; ')}): not a LowbitError: ${(e as Error).stack ?? String(e)}`);
        expect(e.message.length, `case ${i}: a short message`).toBeLessThan(2000);
        codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
        outcomes.error++;
        // a failed load leaves nothing behind
        if (tf.memory().numTensors !== tensorsBefore) leaks.push(`case ${i} (${steps.join('; ')}): ${tf.memory().numTensors - tensorsBefore} tensors left after ${e.code}: ${e.message.slice(0, 200)}`);
        continue;
      }
      if (tf.memory().numTensors !== tensorsBefore) leaks.push(`case ${i} (${steps.join('; ')}): ${tf.memory().numTensors - tensorsBefore} tensors left after a load and dispose`);
    }
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    console.log(`${name}: ${outcomes.loaded} loaded and ran, ${outcomes.error} clear errors (${[...codes].map(([c, n]) => `${c} ${n}`).join(', ')})`);
    // the mutations are not all harmless, and not all fatal
    expect(outcomes.error).toBeGreaterThan(CASES / 4);
    expect(leaks).toEqual([]);
  }, 600_000);
});
