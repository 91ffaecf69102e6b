// The worker side of data-parallel PTQ (quantize({ threads }) / `lowbit ptq --threads N`): loaded by
// Node worker threads, and in a page by the replica Web Workers of serveQuantizeReplica.
import { initBackend, ReplicaGroup } from '@lowbit/core';
import type { ReplicaServer, ReplicaWorkerData } from '@lowbit/core/node';
import { decodeNetwork, disposeNetwork } from '@lowbit/nn';
import { reconstruct } from '@lowbit/nwq-reconstruct';
import { calibrationRows } from './calibration-data.js';
import { prepareRun } from './prepare.js';
import type { QuantizeReplicaInit } from './replica-types.js';

/** Entry of a PTQ replica: builds the run's quantized network like rank 0, then runs its share of the reconstruction on 'run'. */
export async function replicaMain(d: ReplicaWorkerData<QuantizeReplicaInit>): Promise<ReplicaServer<{ kind: 'run' }>> {
  await initBackend(d.init.backend ?? {});
  const group = new ReplicaGroup(d.shared, d.rank, d.size);
  const net = decodeNetwork(d.init.network.json, d.init.network.weightData, 'replica network');
  const r = prepareRun(net, calibrationRows(d.init.rows, d.init.imageShape), d.init.settings);
  disposeNetwork(net);
  return {
    group,
    async handle() {
      if (!r.config) throw new Error('this method has no reconstruction');
      const config = d.init.cacheArena ? { ...r.config, cacheArena: d.init.cacheArena } : r.config;
      await reconstruct({ setup: r.q, calibration: r.calibration, config, group, ...(d.init.resume ? { resume: d.init.resume } : {}) });
    },
  };
}
