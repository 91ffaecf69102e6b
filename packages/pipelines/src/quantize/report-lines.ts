import type { OptionNames } from '../ptq/methods.js';
import type { QuantizeProgress, QuantizeReport } from './quantize.js';

const pad = (label: string) => label.padEnd(15);

/** The warning for a run whose reconstruction diverged (`report.diverged`), or null. Option names as CLI flags or config fields. */
export function divergenceWarning(r: QuantizeReport, names: OptionNames = 'config'): string | null {
  if (!r.diverged || r.startAgreement === null) return null;
  const flag = (f: string, c: string) => (names === 'flags' ? f : `config.${c}`);
  return `reconstruction diverged: top-1 agreement with the float model on the calibration images fell from ${(100 * r.startAgreement).toFixed(2)}% at the start to ${(100 * r.calibrationAgreement).toFixed(2)}%; lower ${flag('--lr-weights', 'weightLr')} (and ${flag('--lr-act', 'activationLr')}), and compare with round-to-nearest (method rtn)`;
}

/**
 * What a quantization run did about its size that a reader should know, as labelled lines
 * (`iterations`, `speed`, `memory`): a scaled iteration count, the time per iteration against
 * the FLOP floor, micro-batches and the float-target cache, after the divergence warning if any.
 * Option names as CLI flags or config fields.
 */
export function runNotes(r: QuantizeReport, names: OptionNames = 'config', o: { warning?: boolean } = {}): string[] {
  const flag = (f: string, c: string) => (names === 'flags' ? f : `config.${c}`);
  const out: string[] = [];
  // the divergence warning first (o.warning false: left out, e.g. when it goes to stderr on its own)
  const diverged = (o.warning ?? true) ? divergenceWarning(r, names) : null;
  if (diverged) out.push(`${pad('warning')}${diverged}`);
  const s = r.schedule;
  if (s?.scaled) out.push(`${pad('iterations')}${s.iterations}: the preset's ${s.preset} scaled to the model (${(s.macsPerImage / 1e6).toFixed(0)} M MACs per image); ${flag('--iters', 'iterations')} to choose`);
  const v = r.speed;
  if (v) {
    const threads = `${v.threads} thread${v.threads > 1 ? 's' : ''}`;
    out.push(`${pad('speed')}${v.secondsPerIteration.toFixed(2)} s/iteration, ${v.overFloor.toFixed(1)}× the FLOP floor (${v.floorSecondsPerIteration.toFixed(2)} s: ${(v.flopsPerIteration / 1e9).toFixed(0)} GFLOP at ${v.convGflops.toFixed(0)} GFLOP/s × ${threads})`);
  }
  const batch = r.reconstruction ? (r.reconstruction['batchSize'] as number) : null;
  if (batch !== null && r.memory.microBatch !== null && r.memory.microBatch < batch) {
    out.push(`${pad('memory')}each step's ${batch} images run in passes of ${r.memory.microBatch} (gradients accumulated) to stay within ${flag('--memory-mb', 'memoryMB')} ${r.memory.budgetMB}`);
  }
  const [first] = r.memory.notes;
  if (first) {
    const more = r.memory.notes.length > 1 ? ` (and ${r.memory.notes.length - 1} more units)` : '';
    out.push(`${pad('memory')}${first}${more}${first.endsWith('computed per batch') ? `; raise ${flag('--cache-mb', 'cacheMB')} to cache them` : ''}`);
  }
  return out;
}

/** A progress report's numbers as short labelled strings (loss, its terms when several, τ, p) for a progress bar. */
export function progressFields(p: QuantizeProgress): Record<string, string> {
  const fields: Record<string, string> = { loss: p.loss.toExponential(3) };
  const terms = Object.entries(p.terms);
  if (terms.length > 1) for (const [k, v] of terms) fields[k] = v.toExponential(2);
  if (p.temperature !== undefined) fields['τ'] = p.temperature.toFixed(3);
  if (p.mixProbability !== undefined) fields['p'] = p.mixProbability.toFixed(3);
  return fields;
}
