import * as tf from '@tensorflow/tfjs-core';
import { LowbitError } from '@lowbit/core';
import type { Network } from '@lowbit/nn';
import { importModelArtifacts } from '@lowbit/tfjs-io';
import { loadModelFile } from '#platform';

/** Something with a `save(handler)`: a `tf.LayersModel` or a `tf.GraphModel` (from `@tensorflow/tfjs`). */
export interface SavableModel {
  save(handler: tf.io.IOHandler): Promise<unknown>;
}

/**
 * A model as a TF.js user has it: a `tf.LayersModel` or `tf.GraphModel` in memory, its
 * `tf.io.ModelArtifacts`, an `IOHandler` that loads it, a URL of its model.json, a file path
 * (Node: a TF.js model.json, a lowbit model.json, or a bundled reference name such as `resnet-fm`),
 * or a lowbit `Network` (the IR) itself.
 */
export type ModelSource = SavableModel | tf.io.ModelArtifacts | tf.io.IOHandler | string | Network;

/** The TF.js format a model came in (what `save` writes back by default), or the IR. */
export type SourceFormat = 'layers-model' | 'graph-model' | 'lowbit-network';

export interface LoadedModel {
  net: Network;
  /** True when the network was made here (dispose it); false for a `Network` the caller passed. */
  owned: boolean;
  format: SourceFormat;
  /** How the source is named in reports and errors. */
  name: string;
}

function isNetwork(x: object): x is Network {
  return 'nodes' in x && 'params' in x && 'inputShape' in x && Array.isArray((x as Network).nodes);
}

/** Captures a model's artifacts through its own `save` (no file is written). */
async function artifactsOf(model: SavableModel): Promise<tf.io.ModelArtifacts> {
  let captured: tf.io.ModelArtifacts | null = null;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      captured = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!captured) throw new LowbitError('E_MODEL', 'model.save() handed no artifacts to the save handler');
  return captured;
}

const URL_RE = /^(https?:|blob:|data:)/i;

/** Resolves any {@link ModelSource} to a lowbit network. */
export async function loadModel(source: ModelSource): Promise<LoadedModel> {
  if (typeof source === 'string') {
    if (source.trim() === '') throw new LowbitError('E_MODEL', 'model: an empty string is neither a URL nor a path');
    if (URL_RE.test(source) || typeof process === 'undefined' || !process.versions?.node) {
      const a = await tf.io.http(source).load!();
      return { net: importModelArtifacts(a, source), owned: true, format: formatOf(a), name: source };
    }
    const f = loadModelFile(source);
    return { ...f, owned: true, name: source };
  }
  if (!source || typeof source !== 'object') throw new LowbitError('E_MODEL', `model: expected a tf.LayersModel, tf.GraphModel, ModelArtifacts, IOHandler, URL, path or lowbit Network, got ${source === null ? 'null' : typeof source}`);
  if (isNetwork(source)) return { net: source, owned: false, format: 'lowbit-network', name: 'Network' };
  if ('modelTopology' in source) return { net: importModelArtifacts(source as tf.io.ModelArtifacts), owned: true, format: formatOf(source as tf.io.ModelArtifacts), name: 'ModelArtifacts' };
  if ('save' in source && typeof source.save === 'function' && !('load' in source && typeof (source as tf.io.IOHandler).load === 'function' && !('predict' in source))) {
    const a = await artifactsOf(source as SavableModel);
    const name = 'layers' in source ? 'tf.LayersModel' : 'tf.GraphModel';
    return { net: importModelArtifacts(a, name), owned: true, format: formatOf(a), name };
  }
  if ('load' in source && typeof (source as tf.io.IOHandler).load === 'function') {
    const a = await (source as tf.io.IOHandler).load!();
    return { net: importModelArtifacts(a, 'IOHandler'), owned: true, format: formatOf(a), name: 'IOHandler' };
  }
  throw new LowbitError('E_MODEL', 'model: expected a tf.LayersModel, tf.GraphModel, ModelArtifacts, IOHandler, URL, path or lowbit Network');
}

function formatOf(a: tf.io.ModelArtifacts): SourceFormat {
  if (a.format === 'graph-model' || a.format === 'layers-model') return a.format;
  return a.modelTopology && typeof a.modelTopology === 'object' && 'node' in a.modelTopology ? 'graph-model' : 'layers-model';
}
