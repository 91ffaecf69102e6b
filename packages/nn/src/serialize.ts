import { badParamValue } from './param-values.js';
import * as tf from '@tensorflow/tfjs-core';
import { LowbitError } from '@lowbit/core';
import { analyze } from './analyze.js';
import { checkNetworkJson } from './schema.js';
import { disposeNetwork, paramDefs } from './create.js';
import { type Network, type NetworkSpec, type NodeParams, specOf } from './spec.js';

export const NETWORK_FORMAT = 'lowbit-network';
export const NETWORK_FORMAT_VERSION = 1;

/** The `model.json` of a saved lowbit network. */
export interface NetworkJson {
  format: typeof NETWORK_FORMAT;
  formatVersion: number;
  generatedBy: string;
  network: NetworkSpec;
  weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
  /** Free-form metadata (training command, seed, accuracy…). */
  metadata?: Record<string, unknown>;
}

/** Encodes a network as a model.json object plus one weight buffer (tfjs weight encoding). */
export async function encodeNetwork(
  net: Network,
  weightsPath: string,
  metadata?: Record<string, unknown>,
): Promise<{ json: NetworkJson; weightData: ArrayBuffer }> {
  const named: Array<{ name: string; tensor: tf.Tensor }> = [];
  for (const [node, ps] of Object.entries(net.params)) for (const [p, v] of Object.entries(ps)) named.push({ name: `${node}/${p}`, tensor: v });
  const { data, specs } = await tf.io.encodeWeights(named);
  const spec: NetworkSpec = specOf(net);
  const json: NetworkJson = {
    format: NETWORK_FORMAT,
    formatVersion: NETWORK_FORMAT_VERSION,
    generatedBy: '@lowbit/nn',
    network: JSON.parse(JSON.stringify(spec)),
    weightsManifest: [{ paths: [weightsPath], weights: specs }],
  };
  if (metadata) json.metadata = metadata;
  return { json, weightData: data };
}

/**
 * Rebuilds a network from its model.json object and weight bytes. Checks the format, that every
 * parameter the spec needs is present with the right shape, and that all weights are finite;
 * `source` names the file in error messages.
 */
export function decodeNetwork(json: unknown, weightData: ArrayBuffer, source = 'model.json'): Network {
  const j = json as Partial<NetworkJson>;
  if (!j || typeof j !== 'object') throw new LowbitError('E_FORMAT', `${source}: expected a JSON object`);
  if (j.format !== NETWORK_FORMAT) {
    throw new LowbitError('E_FORMAT', `${source}: field 'format' must be '${NETWORK_FORMAT}', got ${JSON.stringify(j.format)}`);
  }
  if (j.formatVersion !== NETWORK_FORMAT_VERSION) {
    throw new LowbitError('E_FORMAT', `${source}: field 'formatVersion' must be ${NETWORK_FORMAT_VERSION}, got ${JSON.stringify(j.formatVersion)}`);
  }
  // the network and the manifest (one group of float32 weights), field by field
  checkNetworkJson(j, source);
  const manifest = j.weightsManifest;
  const entries = manifest[0]!.weights;
  const expectedBytes = entries.reduce((s, e) => s + e.shape.reduce((a, b) => a * b, 1) * 4, 0);
  if (weightData.byteLength !== expectedBytes) {
    throw new LowbitError(
      'E_WEIGHTS',
      `${source}: weight file '${manifest[0]!.paths?.[0]}' has ${weightData.byteLength} bytes, the manifest needs ${expectedBytes}`,
    );
  }
  const spec = j.network;
  analyze(spec);
  const decoded = tf.io.decodeWeights(weightData, entries);
  const defs = paramDefs(spec);
  const params: Record<string, NodeParams> = {};
  try {
    for (const [node, pdefs] of Object.entries(defs)) {
      params[node] = {};
      for (const [p, def] of Object.entries(pdefs)) {
        const key = `${node}/${p}`;
        const t = decoded[key];
        if (!t) throw new LowbitError('E_WEIGHTS', `${source}: weight '${key}' is missing from the manifest`);
        if (t.shape.length !== def.shape.length || t.shape.some((d, i) => d !== def.shape[i])) {
          throw new LowbitError('E_WEIGHTS', `${source}: weight '${key}' has shape [${t.shape.join(', ')}], the network needs [${def.shape.join(', ')}]`);
        }
        const vals = t.dataSync();
        const bad = badParamValue(p, vals);
        if (bad) throw new LowbitError('E_WEIGHTS', `${source}: weight '${key}' has ${bad.why === 'is not finite' ? 'a non-finite value' : `a negative variance (${bad.value})`} at flat index ${bad.index}`);
        params[node][p] = tf.variable(t, def.trainable);
      }
    }
  } catch (e) {
    // nothing of a file that fails to load stays in memory
    disposeNetwork({ ...specOf(spec), params });
    throw e;
  } finally {
    for (const t of Object.values(decoded)) t.dispose();
  }
  return { ...specOf(spec), params };
}
