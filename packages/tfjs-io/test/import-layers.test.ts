import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tfjs from '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, Rng } from '@lowbit/core';
import { analyze, disposeNetwork, forward, quantizableLayers } from '@lowbit/nn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportLayersModel, importTfjsModel, writeTfjsExport } from '../src/index.node.js';
import { stockLayers } from './stock-load.js';
import { kitchenSink, randomizeBatchNorms, saveLayersModel } from './tfjs-fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'lowbit-io-'));
beforeAll(() => initBackend({ backend: 'wasm', fallback: false }));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

/** Saves a stock model, imports it, runs both on `x`: the network, the stock output (the caller disposes both) and max |lowbit − stock|. */
async function importBeside(model: tfjs.LayersModel, name: string, x: tf.Tensor) {
  const net = importTfjsModel(await saveLayersModel(model, join(dir, name)));
  const ref = model.predict(x) as tf.Tensor;
  const got = tf.tidy(() => forward(net, x).output);
  expect(got.shape).toEqual(ref.shape);
  const diff = maxDiff(got, ref);
  got.dispose();
  return { net, ref, diff };
}

describe('LayersModel import', () => {
  it('a functional model with every supported layer type gives the same outputs as stock tfjs (< 1e-4)', async () => {
    const model = kitchenSink();
    randomizeBatchNorms(model, 7);
    const path = await saveLayersModel(model, join(dir, 'sink'));
    const net = importTfjsModel(path);
    const x = new Rng(1).uniform([5, 16, 16, 3]);
    const ref = model.predict(x) as tf.Tensor;
    const got = tf.tidy(() => forward(net, x).output);
    expect(got.shape).toEqual(ref.shape);
    expect(maxDiff(got, ref)).toBeLessThan(1e-4);
    // residual and inverted-residual structure became blocks; every block validates
    const info = analyze(net);
    expect(net.blocks.length).toBeGreaterThan(3);
    const addBlock = net.blocks.find((b) => b.nodes.some((n) => n.startsWith('add')));
    expect(addBlock!.nodes.some((n) => n.startsWith('depthwise_conv2d'))).toBe(true);
    expect(info.output).toBe(net.nodes[net.nodes.length - 1]!.name);
    expect(quantizableLayers(net).length).toBe(8); // SeparableConv2D → depthwise + pointwise
    tf.dispose([x, ref, got]);
    disposeNetwork(net);
  });

  it('a Sequential model round-trips too', async () => {
    const model = tfjs.sequential({
      layers: [
        tfjs.layers.conv2d({ inputShape: [10, 10, 1], filters: 4, kernelSize: 3, activation: 'relu' }),
        tfjs.layers.maxPooling2d({ poolSize: 2 }),
        tfjs.layers.flatten(),
        tfjs.layers.dense({ units: 5, activation: 'softmax' }),
      ],
    });
    const x = new Rng(2).uniform([3, 10, 10, 1]);
    const { net, ref, diff } = await importBeside(model, 'seq', x);
    expect(diff).toBeLessThan(1e-5);
    expect(net.blocks.map((b) => b.nodes.length)).toEqual([2, 4]);
    tf.dispose([x, ref]);
    disposeNetwork(net);
  });

  it('PReLU, tanh and ReLU with a max_value import to the same outputs as stock tfjs and export back', async () => {
    const model = tfjs.sequential({
      layers: [
        tfjs.layers.conv2d({ inputShape: [6, 6, 2], filters: 3, kernelSize: 3, kernelInitializer: tfjs.initializers.glorotUniform({ seed: 1 }) }),
        tfjs.layers.prelu({ sharedAxes: [1, 2], alphaInitializer: tfjs.initializers.constant({ value: 0.2 }) }),
        tfjs.layers.conv2d({ filters: 4, kernelSize: 1, activation: 'tanh', kernelInitializer: tfjs.initializers.glorotUniform({ seed: 2 }) }),
        tfjs.layers.reLU({ maxValue: 0.5 }),
        tfjs.layers.flatten(),
        tfjs.layers.dense({ units: 2, kernelInitializer: tfjs.initializers.glorotUniform({ seed: 3 }) }),
      ],
    });
    const x = new Rng(4).uniform([2, 6, 6, 2], -1, 1);
    const { net, ref, diff } = await importBeside(model, 'prelu-tanh', x);
    expect(diff).toBeLessThan(1e-5);
    expect(net.nodes.map((n) => n.op)).toEqual(['conv2d', 'prelu', 'conv2d', 'tanh', 'clip', 'flatten', 'dense']);
    const back = await stockLayers(writeTfjsExport(join(dir, 'prelu-tanh-export'), exportLayersModel(net)).modelJson);
    const again = back.predict(x) as tf.Tensor;
    expect(maxDiff(again, ref)).toBeLessThan(1e-5);
    tf.dispose([x, ref, again]);
    back.dispose();
    disposeNetwork(net);
  });
});

describe('Keras Conv2DTranspose and Multiply', () => {
  it('same and valid transposed convolutions and a broadcast Multiply import to the same outputs as stock tfjs and export back', async () => {
    const init = (seed: number) => tfjs.initializers.glorotUniform({ seed });
    const input = tfjs.input({ shape: [5, 4, 3] });
    const up = tfjs.layers.conv2dTranspose({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', kernelInitializer: init(1), biasInitializer: init(2) }).apply(input) as tfjs.SymbolicTensor;
    const up2 = tfjs.layers.conv2dTranspose({ filters: 2, kernelSize: [3, 2], strides: [2, 3], padding: 'valid', useBias: false, kernelInitializer: init(3) }).apply(up) as tfjs.SymbolicTensor;
    const gate = tfjs.layers.reshape({ targetShape: [1, 1, 2] }).apply(tfjs.layers.globalAveragePooling2d({}).apply(up2)) as tfjs.SymbolicTensor;
    const out = tfjs.layers.multiply().apply([up2, gate]) as tfjs.SymbolicTensor;
    const model = tfjs.model({ inputs: input, outputs: out });
    const x = new Rng(5).uniform([2, 5, 4, 3], -1, 1);
    const { net, ref, diff } = await importBeside(model, 'conv-transpose', x);
    expect(ref.shape).toEqual([2, 21, 24, 2]);
    expect(diff).toBeLessThan(1e-5);
    expect(net.nodes.filter((n) => n.op === 'conv2dTranspose')).toMatchObject([{ outputSize: [10, 8], padding: 'same', useBias: true }, { outputSize: [21, 24], padding: 'valid', useBias: false }]);
    expect(quantizableLayers(net)).toHaveLength(2);
    const back = await stockLayers(writeTfjsExport(join(dir, 'conv-transpose-export'), exportLayersModel(net)).modelJson);
    const again = back.predict(x) as tf.Tensor;
    expect(maxDiff(again, ref)).toBeLessThan(1e-5);
    tf.dispose([x, ref, again]);
    back.dispose();
    disposeNetwork(net);
  });
});

describe('Keras Permute and LeakyReLU', () => {
  it('import to the same outputs as stock tfjs and export back', async () => {
    const model = tfjs.sequential({
      layers: [
        tfjs.layers.conv2d({ inputShape: [4, 5, 2], filters: 3, kernelSize: 3, padding: 'same', kernelInitializer: tfjs.initializers.glorotUniform({ seed: 1 }) }),
        tfjs.layers.leakyReLU({ alpha: 0.15 }),
        tfjs.layers.permute({ dims: [3, 1, 2] }),
        tfjs.layers.flatten(),
      ],
    });
    const x = new Rng(6).uniform([2, 4, 5, 2], -1, 1);
    const { net, ref, diff } = await importBeside(model, 'permute-lrelu', x);
    expect(diff).toBeLessThan(1e-6);
    expect(net.nodes.map((n) => n.op)).toEqual(['conv2d', 'leakyRelu', 'transpose', 'flatten']);
    const back = await stockLayers(writeTfjsExport(join(dir, 'permute-lrelu-export'), exportLayersModel(net)).modelJson);
    const again = back.predict(x) as tf.Tensor;
    expect(maxDiff(again, ref)).toBeLessThan(1e-6);
    tf.dispose([x, ref, again]);
    back.dispose();
    disposeNetwork(net);
  });
});

describe('Keras Concatenate axes (Keras counts the batch axis)', () => {
  it('axis 3, -1 and 2 import to the same outputs as stock tfjs and export back to a model stock tfjs loads', async () => {
    const input = tfjs.input({ shape: [6, 6, 3] });
    const a = tfjs.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', kernelInitializer: tfjs.initializers.glorotUniform({ seed: 1 }) }).apply(input) as tfjs.SymbolicTensor;
    const b = tfjs.layers.conv2d({ filters: 5, kernelSize: 1, kernelInitializer: tfjs.initializers.glorotUniform({ seed: 2 }) }).apply(input) as tfjs.SymbolicTensor;
    const c3 = tfjs.layers.concatenate({ axis: 3 }).apply([a, b]) as tfjs.SymbolicTensor; // [6, 6, 9]
    const c = tfjs.layers.conv2d({ filters: 4, kernelSize: 1, kernelInitializer: tfjs.initializers.glorotUniform({ seed: 3 }) }).apply(c3) as tfjs.SymbolicTensor;
    const w2 = tfjs.layers.concatenate({ axis: 2 }).apply([a, c]) as tfjs.SymbolicTensor; // [6, 12, 4]
    const m1 = tfjs.layers.concatenate({ axis: -1 }).apply([w2, w2]) as tfjs.SymbolicTensor; // [6, 12, 8]
    const out = tfjs.layers.dense({ units: 3, kernelInitializer: tfjs.initializers.glorotUniform({ seed: 4 }) }).apply(tfjs.layers.flatten().apply(m1) as tfjs.SymbolicTensor) as tfjs.SymbolicTensor;
    const x = new Rng(5).uniform([2, 6, 6, 3]);
    const { net, ref, diff } = await importBeside(tfjs.model({ inputs: input, outputs: out }), 'concat-axes', x);
    expect(diff).toBeLessThan(1e-4);
    const e = writeTfjsExport(join(dir, 'concat-axes-export'), exportLayersModel(net));
    const back = await stockLayers(e.modelJson);
    const again = back.predict(x) as tf.Tensor;
    expect(maxDiff(again, ref)).toBeLessThan(1e-4);
    tf.dispose([x, ref, again]);
    back.dispose();
    disposeNetwork(net);
  });

  it('axis 0 (the batch axis) is refused by name', async () => {
    const input = tfjs.input({ shape: [4, 4, 2] });
    const cat = tfjs.layers.concatenate({ axis: 3 }).apply([input, input]) as tfjs.SymbolicTensor;
    const path = await saveLayersModel(tfjs.model({ inputs: input, outputs: cat }), join(dir, 'concat-batch'));
    const j = JSON.parse(readFileSync(path, 'utf8'));
    const layer = (j.modelTopology.model_config ?? j.modelTopology).config.layers.find((l: { class_name: string }) => l.class_name === 'Concatenate');
    layer.config.axis = 0;
    writeFileSync(path, JSON.stringify(j));
    expect(() => importTfjsModel(path)).toThrow(/'concatenate\w*' \(Concatenate\): axis 0 \(only image axes: 1\.\.3, or negative\)/);
  });
});

describe('bad TF.js models', () => {
  let good: string;
  beforeAll(async () => {
    const model = tfjs.sequential({ layers: [tfjs.layers.dense({ inputShape: [4], units: 3 })] });
    good = await saveLayersModel(model, join(dir, 'good'));
  });
  const variant = (name: string, edit: (j: Record<string, unknown>) => void, bin?: Uint8Array) => {
    const d = join(dir, name);
    rmSync(d, { recursive: true, force: true });
    const j = JSON.parse(readFileSync(good, 'utf8'));
    edit(j);
    const w = bin ?? new Uint8Array(readFileSync(join(dir, 'good', 'weights.bin')));
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'model.json'), JSON.stringify(j));
    writeFileSync(join(d, 'weights.bin'), w);
    return join(d, 'model.json');
  };

  it('each problem is one specific error naming the file and field', () => {
    expect(() => importTfjsModel(join(dir, 'none', 'model.json'))).toThrow(/cannot read model file/);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"format": "layers-model", ');
    expect(() => importTfjsModel(bad)).toThrow(/bad\.json: not valid JSON/);
    expect(() => importTfjsModel(variant('fmt', (j) => (j['format'] = 'keras-h5')))).toThrow(/field 'format' must be 'layers-model' or 'graph-model', got "keras-h5"/);
    expect(() => importTfjsModel(variant('nomf', (j) => delete j['weightsManifest']))).toThrow(/field 'weightsManifest' must be a list/);
    expect(() => importTfjsModel(variant('short', () => {}, new Uint8Array(10)))).toThrow(/shards \(weights\.bin\) hold 10 bytes, the manifest needs 60/);
    expect(() => importTfjsModel(variant('shard', (j) => ((j['weightsManifest'] as Array<{ paths: string[] }>)[0]!.paths = ['missing.bin'])))).toThrow(
      /weight file 'missing\.bin' \(weightsManifest\[0\]\.paths\[0\]\) cannot be read: ENOENT/,
    );
    const nan = new Float32Array(15).fill(0.5);
    nan[4] = Number.POSITIVE_INFINITY;
    expect(() => importTfjsModel(variant('nan', () => {}, new Uint8Array(nan.buffer)))).toThrow(/weight 'dense_Dense\d+\/kernel' has a non-finite value at flat index 4/);
    expect(() =>
      importTfjsModel(
        variant('shape', (j) => {
          const w = (j['weightsManifest'] as Array<{ weights: Array<{ shape: number[] }> }>)[0]!.weights[0]!;
          w.shape = [3, 4];
        }),
      ),
    ).toThrow(/layer 'dense_Dense\d+' declares units 3, its stored kernel has 4 \(shape \[3, 4\]\): the config and the weights disagree/);
  });

  it('unsupported layers are all listed before any work', async () => {
    const inp = tfjs.input({ shape: [8, 8, 2] });
    let x = tfjs.layers.conv2d({ filters: 2, kernelSize: 3, dilationRate: 2, padding: 'same' }).apply(inp) as tfjs.SymbolicTensor;
    x = tfjs.layers.activation({ activation: 'elu' }).apply(x) as tfjs.SymbolicTensor;
    x = tfjs.layers.upSampling2d({ size: [2, 2] }).apply(x) as tfjs.SymbolicTensor;
    const path = await saveLayersModel(tfjs.model({ inputs: inp, outputs: x }), join(dir, 'unsup'));
    let msg = '';
    try {
      importTfjsModel(path);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/cannot import 3 layer\(s\)/);
    expect(msg).toMatch(/'conv2d_Conv2D\d+' \(Conv2D\): dilation_rate \[2,2\]/);
    expect(msg).toMatch(/\(Activation\): activation 'elu' is not supported/);
    expect(msg).toMatch(/\(UpSampling2D\): layer type 'UpSampling2D' is not supported/);
  });
});
