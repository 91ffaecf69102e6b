// The worker side of data-parallel PTQ (`lowbit ptq --threads N`): loaded by worker threads.
import { initBackend, ReplicaGroup } from '@lowbit/core';
import type { ReplicaServer, ReplicaWorkerData } from '@lowbit/core/node';
import { type ReconstructionSnapshot, reconstruct } from '@lowbit/nwq-reconstruct';
import { loadPtqInputs, type PtqSetupOptions, prepareReconstruction } from './setup.js';

/** A PTQ replica's start-up data: the run's options (it rebuilds the same setup) and the snapshot to resume from. */
export interface PtqReplicaInit {
  options: PtqSetupOptions;
  resume: ReconstructionSnapshot | null;
}

/** Entry of a PTQ replica: builds the run's quantized network like rank 0, then runs its share of the reconstruction on 'run'. */
export async function replicaMain(d: ReplicaWorkerData<PtqReplicaInit>): Promise<ReplicaServer<{ kind: 'run' }>> {
  await initBackend();
  const group = new ReplicaGroup(d.shared, d.rank, d.size);
  const r = prepareReconstruction(d.init.options, loadPtqInputs(d.init.options));
  return {
    group,
    handle() {
      if (!r.config) throw new Error('this method has no reconstruction');
      reconstruct({ setup: r.q, calibration: r.calibration, config: r.config, group, ...(d.init.resume ? { resume: d.init.resume } : {}) });
    },
  };
}
