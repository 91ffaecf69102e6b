import { Worker } from 'node:worker_threads';
import { ReplicaGroup } from '../parallel/replica-group.js';

/** What each worker of {@link startReplicas} receives: the group's buffer, its rank, and `init`. */
export interface ReplicaWorkerData<I> {
  shared: SharedArrayBuffer;
  rank: number;
  size: number;
  init: I;
}

/**
 * What a replica module's entry function (see {@link startReplicas}) returns: the group it
 * wrapped around the shared buffer, and the handler of the messages rank 0 posts to it. An
 * exception in `handle` aborts the group, so that rank 0 throws instead of waiting forever.
 */
export interface ReplicaServer<M> {
  group: ReplicaGroup;
  handle(message: M): void;
}

export type ReplicaEntry<I, M> = (data: ReplicaWorkerData<I>) => ReplicaServer<M> | Promise<ReplicaServer<M>>;

// The worker's bootstrap, evaluated as a script (no file to locate next to this module, which also
// runs from sources under a test runner); only dynamic imports, so that it runs as CommonJS and as
// an ES module alike (workers inherit `--input-type=module`): import the replica module, call its
// entry, report ready, then hand every message to the handler.
const BOOTSTRAP = `
(async () => {
  const { workerData, parentPort } = await import('node:worker_threads');
  let server;
  try {
    const mod = await import(workerData.module);
    const entry = mod[workerData.exportName];
    if (typeof entry !== 'function') throw new Error(workerData.module + ' exports no function ' + workerData.exportName);
    server = await entry(workerData.data);
  } catch (e) {
    parentPort.postMessage({ kind: 'failed', message: String(e && e.stack || e) });
    return;
  }
  parentPort.on('message', (m) => {
    try {
      server.handle(m);
    } catch (e) {
      server.group.abort('replica ' + workerData.data.rank + ': ' + (e && e.message || e));
    }
  });
  parentPort.postMessage({ kind: 'ready' });
})();
`;

/** Rank 0's handle on a group of replica workers. */
export class Replicas<M> {
  constructor(
    /** Rank 0's view of the group (the calling thread is rank 0). */
    readonly group: ReplicaGroup,
    private readonly workers: Worker[],
  ) {}

  get size(): number {
    return this.group.size;
  }

  /** Posts `message` to the worker of `rank` (1 … size−1); `transfer` moves buffers instead of copying them. */
  post(rank: number, message: M, transfer: ArrayBuffer[] = []): void {
    const w = this.workers[rank - 1];
    if (!w) throw new RangeError(`no replica of rank ${rank} (group of ${this.size})`);
    w.postMessage(message, transfer);
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}

/**
 * Starts `size − 1` worker threads that each import `module` (a file URL or path of an ES module
 * — built JavaScript, since workers do not go through a test runner's transform) and call its
 * export `exportName` with {@link ReplicaWorkerData}; resolves once every worker is ready. The
 * calling thread is rank 0: it posts work with {@link Replicas.post} and runs its own share,
 * meeting the workers in the group's collective calls. Workers do not keep the process alive;
 * call {@link Replicas.close} when done. Node only.
 */
export async function startReplicas<I, M>(o: {
  module: string | URL;
  exportName?: string;
  size: number;
  capacity: number;
  init: I;
  /** Node options of the workers (default: this process's `execArgv`, as Node does). */
  execArgv?: string[];
}): Promise<Replicas<M>> {
  const shared = ReplicaGroup.allocate(o.size, o.capacity);
  const group = new ReplicaGroup(shared, 0, o.size);
  const module = o.module instanceof URL ? o.module.href : o.module.startsWith('file:') ? o.module : new URL(`file://${o.module}`).href;
  const workers: Worker[] = [];
  try {
    for (let rank = 1; rank < o.size; rank++) {
      const data: ReplicaWorkerData<I> = { shared, rank, size: o.size, init: o.init };
      const w = new Worker(BOOTSTRAP, { eval: true, workerData: { module, exportName: o.exportName ?? 'replicaMain', data }, ...(o.execArgv ? { execArgv: o.execArgv } : {}) });
      workers.push(w);
    }
    await Promise.all(
      workers.map(
        (w, i) =>
          new Promise<void>((resolve, reject) => {
            const onExit = (code: number) => reject(new Error(`replica ${i + 1} exited with code ${code} while starting`));
            w.once('error', reject);
            w.once('exit', onExit);
            w.once('message', (m: { kind: string; message?: string }) => {
              w.off('exit', onExit);
              if (m.kind === 'ready') resolve();
              else reject(new Error(`replica ${i + 1} failed to start (${module}): ${m.message}`));
            });
          }),
      ),
    );
  } catch (e) {
    await Promise.all(workers.map((w) => w.terminate()));
    throw e;
  }
  for (const w of workers) {
    w.on('error', (e) => group.abort(`replica worker error: ${e.message}`));
    w.unref();
  }
  return new Replicas<M>(group, workers);
}
