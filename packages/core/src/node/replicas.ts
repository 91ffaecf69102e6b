import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { abortShared, ReplicaGroup } from '../parallel/replica-group.js';

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
  handle(message: M): void | Promise<void>;
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
    Promise.resolve()
      .then(() => server.handle(m))
      .catch((e) => server.group.abort('replica ' + workerData.data.rank + ': ' + (e && e.message || e)));
  });
  parentPort.postMessage({ kind: 'ready' });
})();
`;

// The supervisor: a thread between rank 0 and the replica workers. Rank 0 blocks in Atomics.wait
// during collective calls, so its event loop cannot see a worker die; the supervisor's can: on a
// worker's error or unexpected exit it aborts the group (abortShared), which wakes rank 0 with
// the reason. It starts the workers, reports when all are ready, forwards rank 0's messages, and
// on 'close' terminates them. Same module-mode rule as the bootstrap.
const SUPERVISOR = (abort: string, bootstrap: string) => `
(async () => {
  const { Worker, workerData, parentPort } = await import('node:worker_threads');
  const abortShared = ${abort};
  const { module, exportName, shared, size, init, execArgv } = workerData;
  let closing = false;
  const workers = [];
  for (let rank = 1; rank < size; rank++) {
    workers.push(new Worker(${JSON.stringify(bootstrap)}, { eval: true, workerData: { module, exportName, data: { shared, rank, size, init } }, ...(execArgv ? { execArgv } : {}) }));
  }
  let pending = workers.length;
  workers.forEach((w, i) => {
    const rank = i + 1;
    let ready = false;
    w.on('message', (m) => {
      if (m.kind === 'ready') {
        ready = true;
        if (--pending === 0) parentPort.postMessage({ kind: 'ready' });
      } else if (m.kind === 'failed') parentPort.postMessage({ kind: 'failed', message: 'replica ' + rank + ' failed to start (' + module + '): ' + m.message });
    });
    w.on('error', (e) => {
      const message = 'replica ' + rank + ': ' + (e && e.message || e);
      if (!ready) parentPort.postMessage({ kind: 'failed', message });
      abortShared(shared, message);
    });
    w.on('exit', (code) => {
      if (closing) return;
      const message = 'replica ' + rank + ' exited (code ' + code + ')';
      if (!ready) parentPort.postMessage({ kind: 'failed', message });
      abortShared(shared, message);
    });
  });
  parentPort.on('message', async (m) => {
    if (m.kind === 'post') workers[m.rank - 1].postMessage(m.message, m.transfer);
    else if (m.kind === 'close') {
      closing = true;
      await Promise.all(workers.map((w) => w.terminate()));
      parentPort.close();
    }
  });
})();
`;

/** Rank 0's handle on a group of replica workers. */
export class Replicas<M> {
  private closed = false;
  constructor(
    /** Rank 0's view of the group (the calling thread is rank 0). */
    readonly group: ReplicaGroup,
    private readonly supervisor: Worker,
  ) {}

  get size(): number {
    return this.group.size;
  }

  /** Posts `message` to the worker of `rank` (1 … size−1); `transfer` moves buffers instead of copying them. */
  post(rank: number, message: M, transfer: ArrayBuffer[] = []): void {
    if (!(Number.isInteger(rank) && rank >= 1 && rank < this.size)) throw new RangeError(`no replica of rank ${rank} (group of ${this.size})`);
    if (this.closed) throw new Error('replicas are closed');
    this.supervisor.postMessage({ kind: 'post', rank, message, transfer }, transfer);
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const exited = new Promise<void>((resolve) => this.supervisor.once('exit', () => resolve()));
    this.supervisor.postMessage({ kind: 'close' });
    // a supervisor that does not stop within 10 s is terminated (its workers with it)
    const timer = setTimeout(() => void this.supervisor.terminate(), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

/**
 * Starts `size − 1` worker threads that each import `module` (a file URL or path of an ES module
 * — built JavaScript, since workers do not go through a test runner's transform) and call its
 * export `exportName` with {@link ReplicaWorkerData}; resolves once every worker is ready. The
 * calling thread is rank 0: it posts work with {@link Replicas.post} and runs its own share,
 * meeting the workers in the group's collective calls. A worker that throws, fails or exits
 * aborts the group (rank 0's next or current collective call throws with the reason). Workers do
 * not keep the process alive; call {@link Replicas.close} when done. Node only.
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
  const module = o.module instanceof URL ? o.module.href : o.module.startsWith('file:') ? o.module : pathToFileURL(resolve(o.module)).href;
  const supervisor = new Worker(SUPERVISOR(abortShared.toString(), BOOTSTRAP), {
    eval: true,
    workerData: { module, exportName: o.exportName ?? 'replicaMain', shared, size: o.size, init: o.init, execArgv: o.execArgv ?? null },
    ...(o.execArgv ? { execArgv: o.execArgv } : {}),
  });
  try {
    await new Promise<void>((res, reject) => {
      if (o.size === 1) {
        res();
        return;
      }
      const onExit = (code: number) => reject(new Error(`replica supervisor exited with code ${code} while starting`));
      supervisor.once('error', reject);
      supervisor.once('exit', onExit);
      supervisor.once('message', (m: { kind: string; message?: string }) => {
        supervisor.off('exit', onExit);
        supervisor.off('error', reject);
        if (m.kind === 'ready') res();
        else reject(new Error(m.message));
      });
    });
  } catch (e) {
    await supervisor.terminate();
    throw e;
  }
  // (rank 0's event loop only sees this between collective calls; the supervisor itself aborts on its workers' failures)
  supervisor.on('error', (e) => group.abort(`replica supervisor: ${e.message}`));
  supervisor.unref();
  return new Replicas<M>(group, supervisor);
}
