import { analyze, type Network } from '@lowbit/nn';
import type { LayerGrids, StoredWeight } from '@lowbit/tfjs-io';

/** A layer with a kernel, as the export report lists it (taken from the network before it is disposed). */
export interface LayerFacts {
  name: string;
  op: string;
  kernelShape: number[];
  /** Kernel, bias and BN parameters. */
  parameters: number;
}

/** The layers of `net` that have a kernel, in execution order, and the parameter count of the whole network. */
export function layerFacts(net: Network): { layers: LayerFacts[]; parameters: number } {
  const size = (ts: Record<string, { size: number }>) => Object.values(ts).reduce((s, t) => s + t.size, 0);
  const layers = analyze(net)
    .order.filter((n) => net.params[n.spec.name]?.['kernel'])
    .map((n) => ({ name: n.spec.name, op: n.spec.op, kernelShape: [...net.params[n.spec.name]!['kernel']!.shape], parameters: size(net.params[n.spec.name]!) }));
  return { layers, parameters: Object.values(net.params).reduce((s, p) => s + size(p), 0) };
}

/** One layer of the report: its weight grid (scales summarised when per-channel), how its kernel was stored, its bytes. */
export interface LayerReport extends LayerFacts {
  /** Kernel bits; null: a float kernel. */
  bits: number | null;
  granularity: 'channel' | 'tensor' | null;
  axis?: number;
  /** The step of a per-tensor grid. */
  scale?: number;
  /** Per-channel steps, summarised. */
  scales?: { count: number; min: number; max: number };
  /** Present for an asymmetric grid (a zero point per channel). */
  grid?: 'asymmetric';
  /** How the kernel was stored in the written files. */
  kernel: StoredWeight['storedAs'] | 'not written';
  /** Bytes of all the layer's weights in the weight file. */
  bytes: number;
}

/** Test accuracy from the `lowbit ptq` report in the source model's metadata. */
export interface AccuracyReport {
  measuredBy: 'lowbit ptq' | 'lowbit mpq search';
  method: string;
  /** Uniform bits, or 'mixed' (a searched per-layer policy: see the layers). */
  wBits: number | 'mixed';
  aBits: number | 'mixed';
  fp32: number | null;
  /** Top-1 with weights and activations quantized (lowbit's quantized evaluation). */
  quantized: number | null;
  /** Top-1 of this export: weights quantized, activations float (what stock TF.js computes). */
  exported: number | null;
  drop: number | null;
  testImages: number;
  calibrationAgreement: number | null;
  note: string;
}

/** `report.json` of `lowbit export`. */
export interface ExportReport {
  format: 'lowbit-export-report';
  version: 1;
  model: string;
  target: string;
  /** What was written: layers-model | graph-model (stock TF.js) | lowbit-packed. */
  written: string;
  /** Bytes of each written file (model.json, the weight file; not this report). */
  files: Record<string, number>;
  /** model.json + the weight file. */
  bytes: number;
  /** The same weights in float32: 4 bytes per parameter. */
  float32WeightBytes: number;
  quantized: boolean;
  activations: string;
  accuracy: AccuracyReport | null;
  layers: LayerReport[];
  weights: StoredWeight[];
}

function gridReport(g: LayerGrids[string] | undefined): Pick<LayerReport, 'bits' | 'granularity' | 'axis' | 'scale' | 'scales' | 'grid'> {
  if (!g) return { bits: null, granularity: null };
  const grid = g.zeroPoint ? { grid: 'asymmetric' as const } : {};
  if (g.axis === null) return { bits: g.bits, granularity: 'tensor', scale: g.scale[0]!, ...grid };
  return { bits: g.bits, granularity: 'channel', axis: g.axis, scales: { count: g.scale.length, min: Math.min(...g.scale), max: Math.max(...g.scale) }, ...grid };
}

/** The accuracy part of the report, from a ptq report (`metadata.report` of its model.json); null without one. */
export function accuracyFrom(ptq: Record<string, unknown> | undefined): AccuracyReport | null {
  if (!ptq || typeof ptq['wBits'] !== 'number') return null;
  const num = (k: string) => (typeof ptq[k] === 'number' ? (ptq[k] as number) : null);
  const [w, a] = [ptq['wBits'] as number, num('aBits') ?? 32];
  const measured = num('quantizedAccuracy') !== null;
  return {
    measuredBy: 'lowbit ptq',
    method: String(ptq['method']),
    wBits: w,
    aBits: a,
    fp32: num('fp32Accuracy'),
    quantized: num('quantizedAccuracy'),
    exported: num('exportAccuracy'),
    drop: num('accuracyDrop'),
    testImages: num('testImages') ?? 0,
    calibrationAgreement: num('calibrationAgreement'),
    note: measured
      ? `top-1 on ${num('testImages')} test images with weights at W${w} and activations at A${a} (lowbit's quantized evaluation); this export quantizes weights only, activations run in float`
      : `not measured by lowbit ptq: ${String(ptq['testNote'] ?? 'no test set')}`,
  };
}

/** The accuracy part of the report of a `--policy` export, from the policy.json of `lowbit mpq search`. */
export function accuracyFromPolicy(p: { accuracy: number | null; exportAccuracy: number | null; fp32Accuracy: number | null; testImages: number }): AccuracyReport {
  return {
    measuredBy: 'lowbit mpq search',
    method: 'mpq',
    wBits: 'mixed',
    aBits: 'mixed',
    fp32: p.fp32Accuracy,
    quantized: p.accuracy,
    exported: p.exportAccuracy,
    drop: p.fp32Accuracy !== null && p.accuracy !== null ? p.fp32Accuracy - p.accuracy : null,
    testImages: p.testImages,
    calibrationAgreement: null,
    note: `top-1 on ${p.testImages} test images of the one-shot network under the searched policy: 'quantized' with activations quantized, 'exported' with float activations as this export computes them`,
  };
}

/** Builds the report; `files` are the written files' sizes (model.json, weight file). */
export function exportReport(o: {
  model: string;
  target: string;
  written: string;
  files: Record<string, number>;
  layers: LayerFacts[];
  parameters: number;
  grids: LayerGrids | undefined;
  weights: StoredWeight[];
  ptq: Record<string, unknown> | undefined;
  /** Instead of `ptq`: the accuracy a policy file states. */
  accuracy?: AccuracyReport | null;
}): ExportReport {
  const layers = o.layers.map((l): LayerReport => {
    const own = o.weights.filter((w) => w.layer === l.name);
    const kernel = own.find((w) => /(^|\/)(depthwise_)?kernel$/.test(w.name)) ?? own[0];
    return { ...l, ...gridReport(o.grids?.[l.name]), kernel: kernel?.storedAs ?? 'not written', bytes: own.reduce((s, w) => s + w.bytes, 0) };
  });
  return {
    format: 'lowbit-export-report',
    version: 1,
    model: o.model,
    target: o.target,
    written: o.written,
    files: o.files,
    bytes: Object.values(o.files).reduce((a, b) => a + b, 0),
    float32WeightBytes: 4 * o.parameters,
    quantized: o.grids !== undefined,
    activations: o.grids ? 'not quantized: stock TF.js has no activation quantization, the export is weight-quantized' : 'float model: exported as is',
    accuracy: o.accuracy ?? accuracyFrom(o.ptq),
    layers,
    weights: o.weights,
  };
}

/** report.json's text: one top-level field per line, one layer or weight per line (small, diff-friendly). */
export function formatExportReport(r: ExportReport): string {
  const value = (v: unknown) => (Array.isArray(v) && v.length && typeof v[0] === 'object' ? `[\n${v.map((x) => `  ${JSON.stringify(x)}`).join(',\n')}\n ]` : JSON.stringify(v));
  return `{\n${Object.entries(r)
    .map(([k, v]) => ` ${JSON.stringify(k)}: ${value(v)}`)
    .join(',\n')}\n}\n`;
}
