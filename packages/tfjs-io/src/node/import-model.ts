import * as tf from '@tensorflow/tfjs-core';
import type { Network } from '@lowbit/nn';
import { importGraphModel } from '../graph-model.js';
import { importLayersModel } from '../layers-model.js';
import { readTfjsModel } from './read.js';

/** Imports a TF.js model (`model.json` + shards on disk) into the lowbit IR. */
export function importTfjsModel(path: string): Network {
  const a = readTfjsModel(path);
  try {
    return a.format === 'layers-model' ? importLayersModel(a) : importGraphModel(a);
  } finally {
    tf.dispose(Object.values(a.weights));
  }
}
