import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as tfjs from '@tensorflow/tfjs';

/**
 * An IOHandler for `model.json` and its shards on disk that builds the model artifacts with
 * `tf.io.getModelArtifactsForJSON`, as `tf.io.http` does for a URL: the whole model.json (format,
 * signature, topology, manifest) reaches stock tfjs, no lowbit code is involved.
 */
export function fileHandler(modelJson: string): tfjs.io.IOHandler {
  return {
    load: async () => {
      const j = JSON.parse(readFileSync(modelJson, 'utf8')) as tfjs.io.ModelJSON;
      return tfjs.io.getModelArtifactsForJSON(j, async (manifest) => {
        const shards = manifest.flatMap((g) => g.paths.map((p) => readFileSync(join(dirname(modelJson), p))));
        const all = Buffer.concat(shards);
        return [manifest.flatMap((g) => g.weights), all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength)];
      });
    },
  };
}

/** Stock `tf.loadLayersModel` of an exported model.json. */
export const stockLayers = (modelJson: string) => tfjs.loadLayersModel(fileHandler(modelJson));

/** Stock `tf.loadGraphModel` of an exported model.json. */
export const stockGraph = (modelJson: string) => tfjs.loadGraphModel(fileHandler(modelJson));
