import { bundledTestSet } from '@lowbit/data';
import { referenceSpec } from '@lowbit/models';
import { hasReference, loadReference } from '@lowbit/models/node';
import { createNetwork, disposeNetwork } from '@lowbit/nn';
import { evaluateNetwork } from '@lowbit/pipelines/node';

/** Evaluation throughput on the bundled test set (10,000 images), and accuracy when the trained checkpoint is bundled. */
export function benchEval(model: 'resnet-fm' | 'mbv2-fm', batch = 250): { model: string; imagesPerSecond: number; accuracy: number | null; trained: boolean } {
  const trained = hasReference(model);
  const net = trained ? loadReference(model) : createNetwork(referenceSpec(model), { seed: 0 });
  const r = evaluateNetwork(net, bundledTestSet(), { batchSize: batch });
  disposeNetwork(net);
  return { model, imagesPerSecond: r.imagesPerSecond, accuracy: trained ? r.accuracy : null, trained };
}
