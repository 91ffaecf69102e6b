import type { NodeSpec } from '@lowbit/nn';

/** Names of the values the `outputs` depend on (themselves included), walking `nodes` (in node order) backwards. */
export function liveValues(nodes: readonly NodeSpec[], outputs: readonly string[]): Set<string> {
  const live = new Set(outputs);
  for (let i = nodes.length - 1; i >= 0; i--) if (live.has(nodes[i]!.name)) for (const x of nodes[i]!.inputs) live.add(x);
  return live;
}
