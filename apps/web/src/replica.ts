// A replica worker of the page's data-parallel runs (workers > 1): runs its share of every
// reconstruction step with the page's worker (see @lowbit/pipelines serveQuantizeReplica).
import { serveQuantizeReplica } from '@lowbit/pipelines';

serveQuantizeReplica();
