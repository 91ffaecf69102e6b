import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeNetwork, disposeNetwork, encodeNetwork, forward } from '../src/index.js';
import { loadNetwork, readNetworkJson, saveNetwork } from '../src/node/index.js';
import { batch, tinyResNet, wasm } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'lowbit-nn-'));
beforeAll(wasm);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('network (de)serialisation', () => {
  it('round-trips through model.json + weights.bin with identical outputs and metadata', async () => {
    const net = tinyResNet(3);
    const path = join(dir, 'rt', 'model.json');
    await saveNetwork(net, path, { seed: 3, note: 'test' });
    expect(readdirSync(join(dir, 'rt')).sort()).toEqual(['model.json', 'model.weights.bin']);
    const back = loadNetwork(path);
    expect(readNetworkJson(path).metadata).toEqual({ seed: 3, note: 'test' });
    const x = batch(1);
    const d = tf.tidy(() => tf.max(tf.abs(tf.sub(forward(net, x).output, forward(back, x).output))).dataSync()[0]);
    expect(d).toBe(0);
    disposeNetwork(net);
    disposeNetwork(back);
  });

  it('reports each kind of bad file clearly', async () => {
    const net = tinyResNet(4);
    const { json, weightData } = await encodeNetwork(net, 'w.bin');
    const good = JSON.parse(JSON.stringify(json));
    expect(() => decodeNetwork({ ...good, format: 'other' }, weightData, 'm.json')).toThrow(/m\.json: field 'format' must be 'lowbit-network', got "other"/);
    expect(() => decodeNetwork({ ...good, formatVersion: 9 }, weightData)).toThrow(/formatVersion/);
    expect(() => decodeNetwork(good, weightData.slice(0, 100), 'm.json')).toThrow(/weight file 'w\.bin' has 100 bytes, the manifest needs \d+/);
    const missing = JSON.parse(JSON.stringify(json));
    const dropped = missing.weightsManifest[0].weights.shift();
    const bytes = dropped.shape.reduce((a: number, b: number) => a * b, 1) * 4;
    expect(() => decodeNetwork(missing, weightData.slice(bytes))).toThrow(/weight 'stem\/conv\/kernel' is missing/);
    const nan = new Float32Array(weightData.slice(0));
    nan[5] = Number.NaN;
    expect(() => decodeNetwork(good, nan.buffer)).toThrow(/weight 'stem\/conv\/kernel' has a non-finite value at flat index 5/);
    const reshaped = JSON.parse(JSON.stringify(json));
    reshaped.weightsManifest[0].weights[0].shape = [3, 3, 4, 2];
    expect(() => decodeNetwork(reshaped, weightData)).toThrow(/has shape \[3, 3, 4, 2\], the network needs \[3, 3, 2, 4\]/);
    disposeNetwork(net);
  });

  it('missing or unparsable files name the path', () => {
    expect(() => loadNetwork(join(dir, 'nope.json'))).toThrow(/cannot read network file '.*nope\.json'/);
    const p = join(dir, 'broken.json');
    writeFileSync(p, '{not json');
    expect(() => loadNetwork(p)).toThrow(/broken\.json: not valid JSON/);
  });

  it('a failed save leaves no partial file behind', async () => {
    const net = tinyResNet(5);
    const sub = join(dir, 'atomic');
    await saveNetwork(net, join(sub, 'model.json'));
    const before = readFileSync(join(sub, 'model.json'), 'utf8');
    const bad = { ...net, params: { ...net.params, x: { kernel: { dispose() {} } } } } as never;
    await expect(saveNetwork(bad, join(sub, 'model.json'))).rejects.toThrow();
    expect(readdirSync(sub).sort()).toEqual(['model.json', 'model.weights.bin']);
    expect(readFileSync(join(sub, 'model.json'), 'utf8')).toBe(before);
    disposeNetwork(net);
  });
});
