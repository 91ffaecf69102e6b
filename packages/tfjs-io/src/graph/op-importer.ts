import type { GNode } from './graph-node.js';
import type { GraphImport } from './import-context.js';

/**
 * How one family of TF ops becomes IR nodes. Importers are registered by op name in
 * `registry.ts`; `check` runs on every node before any work, so that all refusals are listed at once.
 */
export interface OpImporter {
  ops: readonly string[];
  /** Why this node can never be imported (attributes alone), or null. */
  check?(n: GNode): string | null;
  /** Imports node `n`; `ins` are its data inputs. */
  run(n: GNode, ins: string[], g: GraphImport): void;
}
