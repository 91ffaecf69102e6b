import { LowbitError } from '../errors.js';
import type { GradMap, Optimizer, ParamMap } from './optimizer.js';

/** One group of parameters and the optimiser that updates it. */
export interface OptimizerPart {
  /** Prefix of the group's state tensors in checkpoints (`<name>:<key>/…`); letters, digits, `-`, `_`. */
  name: string;
  /** Whether a parameter key belongs to this group; the first part that selects a key gets it. */
  select: (key: string) => boolean;
  optimizer: Optimizer;
}

/**
 * Several optimisers over disjoint groups of one parameter map, stepped together: e.g. SGD for
 * the weights and Adam for the quantizer steps, as the retraining-free reference trains them. A
 * key no part selects is an error. `learningRate()` is the first part's; state tensors carry
 * their part's name, so a checkpoint restores each part's own state.
 */
export function partitioned(parts: OptimizerPart[]): Optimizer {
  if (parts.length === 0) throw new LowbitError('E_ARG', 'partitioned: needs at least one part');
  const names = new Set<string>();
  for (const p of parts) {
    if (!/^[\w-]+$/.test(p.name)) throw new LowbitError('E_ARG', `partitioned: part name must be letters, digits, '-' or '_', got '${p.name}'`);
    if (names.has(p.name)) throw new LowbitError('E_ARG', `partitioned: part name '${p.name}' is used twice`);
    names.add(p.name);
  }
  const partOf = (key: string) => {
    const p = parts.find((q) => q.select(key));
    if (!p) throw new LowbitError('E_ARG', `partitioned: no part selects parameter '${key}' (parts: ${parts.map((q) => q.name).join(', ')})`);
    return p;
  };
  return {
    name: `partitioned(${parts.map((p) => `${p.name}=${p.optimizer.name}`).join(',')})`,
    get iterations() {
      return parts[0]!.optimizer.iterations;
    },
    learningRate: () => parts[0]!.optimizer.learningRate(),
    step(params: ParamMap, grads: GradMap) {
      const split = new Map(parts.map((p) => [p, { params: {} as ParamMap, grads: {} as GradMap }]));
      for (const [key, g] of Object.entries(grads)) {
        const s = split.get(partOf(key))!;
        s.grads[key] = g;
        const w = params[key];
        if (w) s.params[key] = w;
      }
      // every part steps, also with no gradients this time, so that iteration counts (schedules) stay together
      for (const p of parts) {
        const s = split.get(p)!;
        p.optimizer.step(s.params, s.grads);
      }
    },
    state() {
      const tensors: Record<string, import('@tensorflow/tfjs-core').Tensor> = {};
      for (const p of parts) for (const [k, t] of Object.entries(p.optimizer.state().tensors)) tensors[`${p.name}:${k}`] = t;
      return { iterations: parts[0]!.optimizer.iterations, tensors };
    },
    loadState(s) {
      const byPart = new Map(parts.map((p) => [p.name, {} as Record<string, import('@tensorflow/tfjs-core').Tensor>]));
      for (const [name, t] of Object.entries(s.tensors)) {
        const i = name.indexOf(':');
        const part = i > 0 ? byPart.get(name.slice(0, i)) : undefined;
        if (!part) throw new LowbitError('E_CHECKPOINT', `optimizer state '${name}' belongs to none of the parts ${[...byPart.keys()].join(', ')} (a checkpoint of another optimiser setting?)`);
        part[name.slice(i + 1)] = t;
      }
      for (const p of parts) p.optimizer.loadState({ iterations: s.iterations, tensors: byPart.get(p.name)! });
    },
    dispose() {
      for (const p of parts) p.optimizer.dispose();
    },
  };
}
