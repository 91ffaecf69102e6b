import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as tfjs from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { lowbit } from './helpers.js';

/** Stock tfjs loading of a written model.json (LayersModel or GraphModel by its format field). */
async function stockLoad(modelJson: string): Promise<tfjs.LayersModel | tfjs.GraphModel> {
  const j = JSON.parse(readFileSync(modelJson, 'utf8'));
  const bin = readFileSync(join(dirname(modelJson), j.weightsManifest[0].paths[0]));
  const handler = tfjs.io.fromMemory({ ...j, weightSpecs: j.weightsManifest[0].weights, weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) });
  return j.format === 'graph-model' ? tfjs.loadGraphModel(handler) : tfjs.loadLayersModel(handler);
}

const dir = mkdtempSync(join(tmpdir(), 'lowbit-export-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('lowbit export --target tfjs', () => {
  it('exports a per-tensor RTN model with uint8 kernels and says what it did', () => {
    const p = lowbit('ptq', '--method', 'rtn', '--granularity', 'tensor', '--calib-size', '256', '--test-limit', '200', '--out', join(dir, 'q'), '--json');
    expect(p.status, p.stderr).toBe(0);
    const e = lowbit('export', '--model', join(dir, 'q', 'model.json'), '--out', join(dir, 'tfjs'), '--json');
    expect(e.status, e.stderr).toBe(0);
    const r = JSON.parse(e.stdout);
    expect(r.quantized).toBe(true);
    expect(r.format).toBe('layers-model'); // a ptq output of a reference model: layers by default
    expect(existsSync(join(dir, 'tfjs', 'model.json'))).toBe(true);
    const kernels = r.weights.filter((w: { name: string }) => w.name.endsWith('kernel'));
    expect(kernels.length).toBe(10);
    expect(kernels.every((w: { storedAs: string }) => w.storedAs === 'uint8')).toBe(true);
    expect(r.weightBytes).toBeLessThan(90_000);
    const pk = lowbit('export', '--model', join(dir, 'q', 'model.json'), '--target', 'lowbit-packed', '--out', join(dir, 'packed'), '--json');
    expect(pk.status, pk.stderr).toBe(0);
    const pr = JSON.parse(pk.stdout);
    expect(pr.weights.filter((w: { storedAs: string }) => w.storedAs === 'packed').length).toBe(10);
    expect(pr.weightBytes).toBeLessThan(r.weightBytes / 1.8);
    // lowbit eval reads every format lowbit writes: the stock and the packed export give the same (weight-only) accuracy
    const es = lowbit('eval', '--model', join(dir, 'tfjs', 'model.json'), '--json');
    const ep = lowbit('eval', '--model', join(dir, 'packed', 'model.json'), '--json');
    expect(es.status, es.stderr).toBe(0);
    expect(ep.status, ep.stderr).toBe(0);
    expect(JSON.parse(ep.stdout).accuracy).toBe(JSON.parse(es.stdout).accuracy);
    expect(JSON.parse(ep.stdout).accuracy).toBeGreaterThan(0.85);
    // ptq states what its exports compute (float activations), the export carries it, and the export scores it
    const pj = JSON.parse(p.stdout);
    expect(pj.exportAccuracy).toBeGreaterThan(0.85);
    expect(r.exportAccuracy).toBe(pj.exportAccuracy);
    const e200 = lowbit('eval', '--model', join(dir, 'tfjs', 'model.json'), '--test-limit', '200', '--json');
    expect(e200.status, e200.stderr).toBe(0);
    expect(Math.abs(JSON.parse(e200.stdout).accuracy - pj.exportAccuracy)).toBeLessThanOrEqual(1 / 200);
  }, 300_000);

  it('--target tfjs keeps a GraphModel source a GraphModel, through ptq too; --format picks either', async () => {
    const g = lowbit('export', '--model', 'resnet-fm', '--format', 'graph', '--out', join(dir, 'g1'), '--json');
    expect(g.status, g.stderr).toBe(0);
    expect(JSON.parse(g.stdout).format).toBe('graph-model');
    // a TF.js graph model as --model: written back as a graph model by default
    const e = lowbit('export', '--model', join(dir, 'g1', 'model.json'), '--target', 'tfjs', '--out', join(dir, 'g2'), '--json');
    expect(e.status, e.stderr).toBe(0);
    const r = JSON.parse(e.stdout);
    expect(r.format).toBe('graph-model');
    expect(JSON.parse(readFileSync(join(dir, 'g2', 'model.json'), 'utf8')).format).toBe('graph-model');
    const text = lowbit('export', '--model', join(dir, 'g1', 'model.json'), '--out', join(dir, 'g2t'));
    expect(text.stdout).toMatch(/wrote {10}a TF\.js GraphModel: .*model\.json .*; load with stock tf\.loadGraphModel/);
    const l = lowbit('export', '--model', join(dir, 'g1', 'model.json'), '--format', 'layers', '--out', join(dir, 'l1'), '--json');
    expect(l.status, l.stderr).toBe(0);
    expect(JSON.parse(l.stdout).format).toBe('layers-model');
    // ptq of the graph model, then export: a graph model again, per-tensor kernels as uint8
    const p = lowbit('ptq', '--model', join(dir, 'g1', 'model.json'), '--method', 'rtn', '--granularity', 'tensor', '--calib-size', '256', '--test-limit', '200', '--out', join(dir, 'gq'), '--json');
    expect(p.status, p.stderr).toBe(0);
    const q = lowbit('export', '--model', join(dir, 'gq', 'model.json'), '--out', join(dir, 'gq-tfjs'), '--json');
    expect(q.status, q.stderr).toBe(0);
    const qr = JSON.parse(q.stdout);
    expect(qr.format).toBe('graph-model');
    const kernels = qr.weights.filter((w: { name: string }) => w.name.endsWith('/kernel'));
    expect(kernels.length).toBe(10);
    expect(kernels.every((w: { storedAs: string }) => w.storedAs === 'uint8')).toBe(true);
    // stock tfjs: the graph export predicts what the layers export of the same model predicts
    const ql = lowbit('export', '--model', join(dir, 'gq', 'model.json'), '--format', 'layers', '--out', join(dir, 'gq-layers'), '--json');
    expect(ql.status, ql.stderr).toBe(0);
    const [mg, ml] = [await stockLoad(join(dir, 'gq-tfjs', 'model.json')), await stockLoad(join(dir, 'gq-layers', 'model.json'))];
    const x = tfjs.randomUniform([16, 28, 28, 1], 0, 1, 'float32', 5);
    const [yg, yl] = [mg.predict(x) as tfjs.Tensor, ml.predict(x) as tfjs.Tensor];
    expect(yg.shape).toEqual([16, 10]);
    expect(tfjs.max(tfjs.abs(tfjs.sub(yg, yl))).dataSync()[0]).toBeLessThan(1e-4);
    tfjs.dispose([x, yg, yl]);
    mg.dispose();
    ml.dispose();
  }, 300_000);

  it('writes report.json beside the export: per-layer bits, scales, storage, bytes and the ptq accuracy', () => {
    const p = lowbit('ptq', '--method', 'rtn', '--granularity', 'channel', '--calib-size', '256', '--test-limit', '200', '--out', join(dir, 'qc'), '--json');
    expect(p.status, p.stderr).toBe(0);
    const ptq = JSON.parse(p.stdout);
    type Layer = { name: string; bits: number | null; granularity: string | null; scale?: number; scales?: { count: number; min: number; max: number }; kernel: string; bytes: number; kernelShape: number[] };
    const read = (d: string) => JSON.parse(readFileSync(join(dir, d, 'report.json'), 'utf8'));
    // per-channel grids, packed: scales summarised, every kernel packed, bytes add up, accuracy from ptq
    const pk = lowbit('export', '--model', join(dir, 'qc', 'model.json'), '--target', 'lowbit-packed', '--out', join(dir, 'qc-packed'), '--json');
    expect(pk.status, pk.stderr).toBe(0);
    const out = JSON.parse(pk.stdout);
    expect(out.report).toBe(join(dir, 'qc-packed', 'report.json'));
    const r = read('qc-packed');
    expect(r).toMatchObject({ format: 'lowbit-export-report', version: 1, target: 'lowbit-packed', written: 'lowbit-packed', quantized: true, bytes: out.bytes });
    expect(r.files).toEqual({ 'model.json': statSync(join(dir, 'qc-packed', 'model.json')).size, 'weights.lbp': statSync(join(dir, 'qc-packed', 'weights.lbp')).size });
    expect(r.float32WeightBytes).toBe(ptq.size.fp32Bytes); // the BN-folded network's parameters, 4 bytes each
    expect(r.accuracy).toMatchObject({ measuredBy: 'lowbit ptq', method: 'rtn', wBits: 4, aBits: 4, fp32: ptq.fp32Accuracy, quantized: ptq.quantizedAccuracy, exported: ptq.exportAccuracy, testImages: 200 });
    expect(r.accuracy.note).toMatch(/W4 and activations at A4.*this export quantizes weights only/);
    const layers = r.layers as Layer[];
    expect(layers.length).toBe(10);
    expect(layers.map((l) => l.bits)).toEqual([8, 4, 4, 4, 4, 4, 4, 4, 4, 8]); // first and last kept at 8 bits
    for (const l of layers) {
      expect(l).toMatchObject({ granularity: 'channel', kernel: 'packed' });
      expect(l.scales!.count).toBe(l.kernelShape.at(-1));
      expect(l.scales!.min).toBeGreaterThan(0);
      expect(l.scales!.max).toBeGreaterThanOrEqual(l.scales!.min);
    }
    expect(layers.reduce((s, l) => s + l.bytes, 0)).toBe(r.files['weights.lbp']);
    expect(r.weights.length).toBe(20);
    expect(readFileSync(join(dir, 'qc-packed', 'report.json'), 'utf8').length).toBeLessThan(8_000);
    // per-tensor grids, stock uint8: one scale per layer, kernels uint8
    const pt = lowbit('ptq', '--method', 'rtn', '--granularity', 'tensor', '--calib-size', '256', '--test-limit', '200', '--out', join(dir, 'qt'), '--json');
    expect(pt.status, pt.stderr).toBe(0);
    const t = lowbit('export', '--model', join(dir, 'qt', 'model.json'), '--out', join(dir, 'qt-tfjs'));
    expect(t.status, t.stderr).toBe(0);
    expect(t.stdout).toMatch(/report {9}.*report\.json: per-layer bits, scales, storage and bytes\naccuracy {7}lowbit ptq top-1 \d+\.\d\d% at W4A4 \(fp32 \d+\.\d\d%\); this export \(activations float\): \d+\.\d\d%/);
    const rt = read('qt-tfjs');
    expect(rt.written).toBe('layers-model');
    for (const l of rt.layers as Layer[]) {
      expect(l).toMatchObject({ granularity: 'tensor', kernel: 'uint8' });
      expect(l.scale).toBeGreaterThan(0);
      expect(l.scales).toBeUndefined();
    }
    // a float model: no grids, no accuracy
    const f = lowbit('export', '--model', 'mbv2-fm', '--out', join(dir, 'fp-report'), '--json');
    expect(f.status, f.stderr).toBe(0);
    const rf = read('fp-report');
    expect(rf).toMatchObject({ quantized: false, accuracy: null, written: 'layers-model' });
    expect((rf.layers as Layer[]).every((l) => l.bits === null && l.kernel === 'float32')).toBe(true);
  }, 300_000);

  it('ptq --weight-grid asymmetric: zero points in the quantized model; eval, the stock and the packed export agree on it', async () => {
    const p = lowbit('ptq', '--method', 'rtn', '--wbits', '3', '--abits', '8', '--weight-grid', 'asymmetric', '--calib-size', '128', '--test-limit', '200', '--out', join(dir, 'qa'), '--json');
    expect(p.status, p.stderr).toBe(0);
    const pr = JSON.parse(p.stdout);
    expect(pr.weightGrid).toBe('asymmetric');
    const meta = JSON.parse(readFileSync(join(dir, 'qa', 'model.json'), 'utf8')).metadata.quantization.layers as Record<string, { bits: number; zeroPoint?: number[] }>;
    const low = Object.values(meta).filter((g) => g.bits === 3);
    expect(low.length).toBeGreaterThan(3);
    expect(low.every((g) => Array.isArray(g.zeroPoint) && g.zeroPoint.some((z) => z !== 4))).toBe(true);
    const accs: number[] = [];
    for (const [target, out] of [['tfjs', 'qa-tfjs'], ['lowbit-packed', 'qa-packed']] as const) {
      const e = lowbit('export', '--model', join(dir, 'qa', 'model.json'), '--target', target, '--out', join(dir, out), '--json');
      expect(e.status, e.stderr).toBe(0);
      const r = JSON.parse(readFileSync(join(dir, out, 'report.json'), 'utf8'));
      expect(r.layers.filter((l: { grid?: string }) => l.grid === 'asymmetric').length).toBe(Object.keys(meta).length);
      const ev = lowbit('eval', '--model', join(dir, out, 'model.json'), '--test-limit', '200', '--json');
      expect(ev.status, ev.stderr).toBe(0);
      accs.push(JSON.parse(ev.stdout).accuracy);
    }
    // weight-only in both; float16 per-channel scales in the stock one may flip an image or two
    expect(Math.abs(accs[0]! - accs[1]!)).toBeLessThanOrEqual(0.01);
    expect(Math.abs(accs[1]! - pr.exportAccuracy)).toBeLessThanOrEqual(1e-9);
    const bad = lowbit('ptq', '--method', 'rtn', '--weight-grid', 'skewed', '--out', join(dir, 'qbad'));
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--weight-grid must be one of symmetric, asymmetric, auto, got 'skewed'/);
    expect(existsSync(join(dir, 'qbad'))).toBe(false);
  }, 300_000);

  it('rejects unknown targets, float models for packing, and bad options', () => {
    const a = lowbit('export', '--model', 'resnet-fm', '--target', 'lowbit-packed', '--out', join(dir, 'x'));
    expect(a.status).toBe(2);
    expect(a.stderr).toMatch(/--target lowbit-packed needs a quantized model/);
    const t = lowbit('export', '--model', 'resnet-fm', '--target', 'onnx', '--out', join(dir, 'x'));
    expect(t.status).toBe(2);
    expect(t.stderr).toMatch(/--target must be tfjs or lowbit-packed, got 'onnx'/);
    const b = lowbit('export', '--model', 'resnet-fm', '--per-channel', 'int4', '--out', join(dir, 'x'));
    expect(b.status).toBe(2);
    expect(b.stderr).toMatch(/--per-channel must be uint8, float32 or float16, got 'int4'/);
    const cb = lowbit('export', '--model', 'resnet-fm', '--code-bias', 'int8', '--out', join(dir, 'x'));
    expect(cb.status).toBe(2);
    expect(cb.stderr).toMatch(/--code-bias must be uint8 or float16, got 'int8'/);
    const f = lowbit('export', '--model', 'resnet-fm', '--format', 'onnx', '--out', join(dir, 'x'));
    expect(f.status).toBe(2);
    expect(f.stderr).toMatch(/--format must be layers or graph, got 'onnx'/);
    const fp = lowbit('export', '--model', 'resnet-fm', '--target', 'lowbit-packed', '--format', 'graph', '--out', join(dir, 'x'));
    expect(fp.status).toBe(2);
    expect(fp.stderr).toMatch(/--format graph is for --target tfjs/);
    expect(existsSync(join(dir, 'x'))).toBe(false);
  });
});
