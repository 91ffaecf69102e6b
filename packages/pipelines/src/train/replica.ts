// The worker side of data-parallel training (see data-parallel.ts): loaded by worker threads.
import type { ReplicaServer, ReplicaWorkerData } from '@lowbit/core/node';
import { replicaNetwork, type ShardMessage, serveShards, type TrainReplicaInit } from './data-parallel.js';
import { shardGrads } from './step.js';

/** Entry of a training replica: its copy of the network, and the share step. */
export function replicaMain(d: ReplicaWorkerData<TrainReplicaInit>): Promise<ReplicaServer<ShardMessage>> {
  return serveShards<TrainReplicaInit, ShardMessage>(d, (group) => {
    const net = replicaNetwork(d);
    return (x, labels, m) => shardGrads(group, net, x, labels, m.weight);
  });
}
