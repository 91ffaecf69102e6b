// The worker side of data-parallel one-shot training (see data-parallel.ts): loaded by worker threads.
import type { ReplicaServer, ReplicaWorkerData } from '@lowbit/core/node';
import { serveShards } from '../train/data-parallel.js';
import { type OneShotReplicaInit, type OneShotShardMessage, oneShotShard, replicaContext, replicaOneShotNet } from './data-parallel.js';

/** Entry of a one-shot training replica: its copy of the one-shot network, and the share step. */
export function replicaMain(d: ReplicaWorkerData<OneShotReplicaInit>): Promise<ReplicaServer<OneShotShardMessage>> {
  return serveShards<OneShotReplicaInit, OneShotShardMessage>(d, (group) => {
    const o = replicaOneShotNet(d.init);
    return (x, labels, m) => oneShotShard(o, group, x, labels, m.weight, m.plan, replicaContext(m));
  });
}
