import * as tf from '@tensorflow/tfjs-core';
import { LowbitError } from '@lowbit/core';
import type { Network } from '@lowbit/nn';
import { importLayersModel } from './layers-model.js';
import { readTfjsModel } from './read-artifacts.js';

/** Imports a TF.js model (`model.json` + shards on disk) into the lowbit IR. */
export function importTfjsModel(path: string): Network {
  const a = readTfjsModel(path);
  try {
    if (a.format === 'layers-model') return importLayersModel(a);
    throw new LowbitError('E_UNSUPPORTED', `${path}: graph-model import is not implemented yet (layers-model only)`);
  } finally {
    tf.dispose(Object.values(a.weights));
  }
}
