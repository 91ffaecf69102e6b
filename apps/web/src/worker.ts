// The page's worker: runs quantize() off the main thread (see @lowbit/pipelines serveQuantize).
import { serveQuantize } from '@lowbit/pipelines';

serveQuantize();
