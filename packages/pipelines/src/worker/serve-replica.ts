import type { ReplicaServer } from '@lowbit/core/node';
import { replicaMain } from '../quantize/replica.js';
import type { FromReplica, MessageEndpoint, ToReplica } from './protocol.js';

/**
 * Runs one replica of a data-parallel {@link quantize} in a page: call it once in a module
 * worker's script (`serveQuantizeReplica()`) and give the page's `quantizeInWorker` a
 * `replicaWorker` that starts such workers. The replica rebuilds the run from what rank 0 sends,
 * reports ready, and runs its share of every reconstruction step with rank 0 through the shared
 * group buffer; a failure aborts the group, so rank 0 stops with the reason instead of waiting.
 */
export function serveQuantizeReplica(scope: MessageEndpoint = globalThis as unknown as MessageEndpoint): void {
  let server: ReplicaServer<{ kind: 'run' }> | null = null;
  let rank = 0;
  const post = (m: FromReplica) => scope.postMessage(m);
  scope.addEventListener('message', (event: MessageEvent) => {
    const m = event.data as ToReplica;
    if (m?.type === 'replica-init') {
      rank = m.rank;
      replicaMain({ shared: m.shared, rank: m.rank, size: m.size, init: m.init }).then(
        (s) => {
          server = s;
          post({ type: 'replica-ready' });
        },
        (e: unknown) => post({ type: 'replica-failed', message: e instanceof Error ? e.message : String(e) }),
      );
    } else if (m?.type === 'replica-run' && server) {
      const s = server;
      Promise.resolve()
        .then(() => s.handle(m.message))
        .catch((e: unknown) => s.group.abort(`replica ${rank}: ${e instanceof Error ? e.message : String(e)}`));
    }
  });
}
