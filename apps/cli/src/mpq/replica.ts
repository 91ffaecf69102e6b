// The worker side of data-parallel one-shot training (see data-parallel.ts): loaded by worker threads.
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, ReplicaGroup } from '@lowbit/core';
import type { ReplicaServer, ReplicaWorkerData } from '@lowbit/core/node';
import { type OneShotReplicaInit, type OneShotShardMessage, oneShotShard, replicaContext, replicaOneShotNet } from './data-parallel.js';

/** Entry of a one-shot training replica: its backend, its copy of the one-shot network, the step handler. */
export async function replicaMain(d: ReplicaWorkerData<OneShotReplicaInit>): Promise<ReplicaServer<OneShotShardMessage>> {
  await initBackend();
  const group = new ReplicaGroup(d.shared, d.rank, d.size);
  const o = replicaOneShotNet(d.init);
  return {
    group,
    handle(m) {
      tf.tidy(() => {
        const x = tf.tensor(m.x, m.xShape);
        const y = tf.tensor1d(m.labels, 'int32');
        tf.dispose(Object.values(oneShotShard(o, group, x, y, m.weight, m.plan, replicaContext(m)).grads));
      });
    },
  };
}
