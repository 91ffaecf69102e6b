// The worker side of data-parallel training (see data-parallel.ts): loaded by worker threads.
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, ReplicaGroup } from '@lowbit/core';
import type { ReplicaServer, ReplicaWorkerData } from '@lowbit/core/node';
import { replicaNetwork, type ShardMessage, shardGrads, type TrainReplicaInit } from './data-parallel.js';

/** Entry of a training replica: its backend, its copy of the network, and the step handler. */
export async function replicaMain(d: ReplicaWorkerData<TrainReplicaInit>): Promise<ReplicaServer<ShardMessage>> {
  await initBackend();
  const group = new ReplicaGroup(d.shared, d.rank, d.size);
  const net = replicaNetwork(d);
  return {
    group,
    handle(m) {
      tf.tidy(() => {
        const x = tf.tensor(m.x, m.xShape);
        const y = tf.tensor1d(m.labels, 'int32');
        tf.dispose(Object.values(shardGrads(group, net, x, y, m.weight).grads));
      });
    },
  };
}
