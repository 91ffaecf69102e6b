import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tfjs from '@tensorflow/tfjs';

/** Saves a tfjs LayersModel as model.json + weights.bin in `dir` (what `model.save('file://…')` would write). */
export async function saveLayersModel(model: tfjs.LayersModel, dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  await model.save(
    tfjs.io.withSaveHandler(async (a) => {
      writeFileSync(join(dir, 'weights.bin'), new Uint8Array(a.weightData as ArrayBuffer));
      writeFileSync(
        join(dir, 'model.json'),
        JSON.stringify({ format: 'layers-model', generatedBy: 'test', convertedBy: null, modelTopology: a.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }] }),
      );
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return join(dir, 'model.json');
}

/** Gives BN layers non-trivial statistics so that inference-mode BN is exercised. */
export function randomizeBatchNorms(model: tfjs.LayersModel, seed: number): void {
  let s = seed;
  const rnd = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
  for (const l of model.layers) {
    if (l.getClassName() !== 'BatchNormalization') continue;
    const ws = l.getWeights();
    l.setWeights(ws.map((w, i) => tfjs.tensor(Array.from({ length: w.size }, () => (i === 3 ? 0.5 + rnd() : i === 0 ? 0.5 + rnd() : rnd() - 0.5)), w.shape)));
  }
}

/** A functional model with every supported layer type, residual and inverted-residual structure. */
export function kitchenSink(): tfjs.LayersModel {
  const inp = tfjs.input({ shape: [16, 16, 3] });
  let x = tfjs.layers.rescaling({ scale: 1 / 2, offset: -0.25 }).apply(inp) as tfjs.SymbolicTensor;
  x = tfjs.layers.zeroPadding2d({ padding: [[1, 0], [0, 1]] }).apply(x) as tfjs.SymbolicTensor;
  x = tfjs.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'valid', useBias: false }).apply(x) as tfjs.SymbolicTensor;
  x = tfjs.layers.batchNormalization().apply(x) as tfjs.SymbolicTensor;
  x = tfjs.layers.reLU({ maxValue: 6 }).apply(x) as tfjs.SymbolicTensor;
  // inverted residual: expand, depthwise, project, add
  let h = tfjs.layers.conv2d({ filters: 16, kernelSize: 1, activation: 'relu6' }).apply(x) as tfjs.SymbolicTensor;
  h = tfjs.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false }).apply(h) as tfjs.SymbolicTensor;
  h = tfjs.layers.batchNormalization().apply(h) as tfjs.SymbolicTensor;
  h = tfjs.layers.activation({ activation: 'swish' }).apply(h) as tfjs.SymbolicTensor;
  h = tfjs.layers.conv2d({ filters: 8, kernelSize: 1, useBias: false }).apply(h) as tfjs.SymbolicTensor;
  x = tfjs.layers.add().apply([x, h]) as tfjs.SymbolicTensor;
  // two branches concatenated
  const a = tfjs.layers.separableConv2d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(x) as tfjs.SymbolicTensor;
  const b = tfjs.layers.maxPooling2d({ poolSize: 3, strides: 1, padding: 'same' }).apply(x) as tfjs.SymbolicTensor;
  x = tfjs.layers.concatenate().apply([a, b]) as tfjs.SymbolicTensor;
  x = tfjs.layers.averagePooling2d({ poolSize: 2 }).apply(x) as tfjs.SymbolicTensor;
  x = tfjs.layers.dropout({ rate: 0.3 }).apply(x) as tfjs.SymbolicTensor;
  const g = tfjs.layers.globalAveragePooling2d({}).apply(x) as tfjs.SymbolicTensor;
  const f = tfjs.layers.flatten().apply(x) as tfjs.SymbolicTensor;
  const r = tfjs.layers.reshape({ targetShape: [56, 4] }).apply(f) as tfjs.SymbolicTensor;
  const r2 = tfjs.layers.flatten().apply(r) as tfjs.SymbolicTensor;
  const d = tfjs.layers.dense({ units: 10, activation: 'sigmoid' }).apply(r2) as tfjs.SymbolicTensor;
  const gd = tfjs.layers.dense({ units: 10 }).apply(g) as tfjs.SymbolicTensor;
  let y = tfjs.layers.add().apply([d, gd]) as tfjs.SymbolicTensor;
  y = tfjs.layers.activation({ activation: 'softmax' }).apply(y) as tfjs.SymbolicTensor;
  return tfjs.model({ inputs: inp, outputs: y });
}
