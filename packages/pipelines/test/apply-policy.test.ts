import * as tfjs from '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import { evalContext, initBackend, Rng } from '@lowbit/core';
import { makeBatch } from '@lowbit/data';
import { forward } from '@lowbit/nn';
import { packedHandler } from '@lowbit/tfjs-io';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyPolicy, disposeBatches, evaluatePolicy, fixedBatches, uniformOneShotPolicy } from '../src/index.js';
import { calib, oneShot } from './one-shot-fixtures.js';

const maxAbs = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);

function artifactsHandler(files: Array<{ name: string; data: Uint8Array }>): { modelJson: Record<string, unknown>; weights: ArrayBuffer } {
  const json = JSON.parse(new TextDecoder().decode(files[0]!.data)) as Record<string, unknown>;
  return { modelJson: json, weights: files[1]!.data.slice().buffer as ArrayBuffer };
}

describe('applyPolicy: a searched policy as a shippable model', () => {
  beforeAll(() => initBackend({ backend: 'wasm', fallback: false }));

  it('predicts what the one-shot network computes under the policy; its exports load in stock tfjs and equal the weight-only model', async () => {
    const o = oneShot(3);
    const bn = fixedBatches(calib, 0, 64, 32);
    // a mixed policy: uniform 3 bits with the first searchable layers raised
    const policy = uniformOneShotPolicy(o, 3);
    const [, l1, l2] = Object.keys(policy).filter((k) => o.layers.get(k)!.op === 'conv2d') as [string, string, string];
    policy[l1] = { ...policy[l1]!, w: 5 };
    policy[l2] = { ...policy[l2]!, w: 2 };
    const before = tf.memory().numTensors;
    const q = applyPolicy(o, policy, bn);
    const x = makeBatch(calib, Int32Array.from({ length: 16 }, (_, i) => 100 + i));
    const ref = tf.tidy(() => forward(o.net, x.x, o.forwardOptions(evalContext(new Rng(0)))).output);
    const got = q.predict(x.x);
    expect(maxAbs(got, ref)).toBeLessThan(1e-4);
    expect(q.quantization.layers[l1]!.bits).toBe(5);
    expect(q.quantization.layers[l2]!.bits).toBe(2);
    const weightOnly = q.predict(x.x, { activations: 'float' });
    // packed and stock float32 kernels: exact; stock default (uint8 codes, float16 scales and biases): close, same top-1
    for (const [target, perChannel, tol] of [
      ['lowbit-packed', undefined, 1e-4],
      ['tfjs', 'float32', 1e-4],
      ['tfjs', undefined, 2e-2],
    ] as const) {
      const files = await q.files({ target, ...(perChannel ? { perChannel } : {}) });
      const loaded = await tfjs.loadLayersModel(target === 'lowbit-packed' ? packedHandler(artifactsHandler(files)) : tfjs.io.fromMemory(artifactsFrom(files)));
      const y = loaded.predict(x.x) as tf.Tensor;
      expect(maxAbs(y, weightOnly), `${target} ${perChannel ?? ''}`).toBeLessThan(tol);
      expect(Array.from(tf.tidy(() => tf.argMax(y, 1).dataSync()))).toEqual(Array.from(tf.tidy(() => tf.argMax(weightOnly, 1).dataSync())));
      y.dispose();
      loaded.dispose();
    }
    tf.dispose([ref, got, weightOnly, x.x, x.y]);
    q.dispose();
    expect(tf.memory().numTensors).toBe(before);
    disposeBatches(bn);
    o.dispose();
  }, 120_000);

  it('refuses a policy that names layers the one-shot network lacks, or bits it has no candidate for', () => {
    const o = oneShot(4);
    const bn = fixedBatches(calib, 0, 32, 32);
    expect(() => applyPolicy(o, { ...uniformOneShotPolicy(o, 3), nope: { w: 3, a: 3 } }, bn)).toThrow(/lacks: nope/);
    const p = uniformOneShotPolicy(o, 3);
    const l = Object.keys(p).find((k) => o.layers.get(k)!.candidates.length > 1)!;
    p[l] = { ...p[l]!, w: 7 };
    expect(() => applyPolicy(o, p, bn)).toThrow(/weight bits 7 are not a candidate/);
    // evaluation (what `lowbit eval --policy` runs) refuses the same policies as export
    expect(() => evaluatePolicy(o, { ...uniformOneShotPolicy(o, 3), nope: { w: 3, a: 3 } }, bn, calib, 32)).toThrow(/lacks: nope/);
    // a refused policy changes nothing: the check runs before any bits are set (the input layer's
    // check used to come after the weight bits of earlier layers had been changed)
    o.applyPolicy(uniformOneShotPolicy(o, 4));
    const applied = JSON.stringify(o.policy());
    const input = Object.keys(p).find((k) => !o.sites.has(o.layers.get(k)!.site))!;
    const two = uniformOneShotPolicy(o, 2);
    const bad = { ...two, [input]: { ...two[input]!, a: 4 } };
    expect(() => o.checkPolicy(bad)).toThrow(new RegExp(`layer '${input}' reads the unquantized network input; its activation bits must be 32, got 4`));
    expect(() => o.applyPolicy(bad)).toThrow(/reads the unquantized network input/);
    expect(JSON.stringify(o.policy())).toBe(applied);
    expect(() => o.checkPolicy(uniformOneShotPolicy(o, 2))).not.toThrow();
    expect(JSON.stringify(o.policy())).toBe(applied);
    disposeBatches(bn);
    o.dispose();
  });
});

function artifactsFrom(files: Array<{ name: string; data: Uint8Array }>): tf.io.ModelArtifacts {
  const json = JSON.parse(new TextDecoder().decode(files[0]!.data)) as { modelTopology: object; weightsManifest: Array<{ weights: tf.io.WeightsManifestEntry[] }>; format: string };
  return { modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0]!.weights, weightData: files[1]!.data.slice().buffer as ArrayBuffer, format: json.format };
}
