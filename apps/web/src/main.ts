// The lowbit page: choose a TF.js model and images, quantize in a Web Worker, watch it, download.
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@lowbit/core';
import { inputRange, type QuantizeProgress, quantizeInWorker, type WorkerQuantizeResult } from '@lowbit/pipelines';
import { bitsChart, lossChart } from './charts.js';
import { imageFiles, imagesToRows, pathOf } from './images.js';
import { modelFromFiles, modelFromUrl, type PageModel } from './model.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;
const WASM = new URL('./wasm/', location.href).href;
const TARGETS = [
  { target: 'tfjs', label: 'stock TF.js (loads with tf.loadLayersModel / loadGraphModel)' },
  { target: 'lowbit-packed', label: 'lowbit packed (smallest; load with packedHandler from @lowbit/tfjs-io/loader)' },
  { target: 'lowbit', label: 'lowbit model.json (for lowbit eval / export)' },
] as const;

let model: PageModel | null = null;
let images: File[] = [];
let controller: AbortController | null = null;
const backend = initBackend({ wasmPaths: WASM });

function status(id: string, text: string, error = false): void {
  const e = $(id);
  e.textContent = text;
  e.className = error ? 'status error' : 'status';
}

const kb = (b: number) => `${(b / 1024).toFixed(b < 10_240 ? 1 : 0)} KB`;

function refresh(): void {
  ($('start') as HTMLButtonElement).disabled = !(model && images.length >= 2) || controller !== null;
  ($('cancel') as HTMLButtonElement).disabled = controller === null;
}

async function setModel(load: () => Promise<PageModel>): Promise<void> {
  status('model-status', 'reading the model…');
  try {
    await backend;
    model = await load();
    status('model-status', `${model.name}: input ${model.inputShape.join('×')}, ${kb(model.bytes)}`);
  } catch (e) {
    model = null;
    status('model-status', `cannot use this model: ${(e as Error).message}`, true);
  }
  refresh();
}

function setImages(files: File[]): void {
  images = imageFiles(files);
  if (images.length < 2) status('images-status', `${files.length} file(s) given, ${images.length} PNG/JPEG image(s): at least 2 are needed`, true);
  else status('images-status', `${images.length} images (${pathOf(images[0]!)} … ${pathOf(images.at(-1)!)})`);
  refresh();
}

async function demoImages(): Promise<File[]> {
  const names = (await (await fetch('./demo/images/index.json')).json()) as string[];
  return Promise.all(names.map(async (n) => new File([await (await fetch(`./demo/images/${n}`)).blob()], n, { type: 'image/png' })));
}

function dropZone(zone: string, onFiles: (files: File[]) => void): void {
  const z = $(zone);
  z.addEventListener('dragover', (e) => {
    e.preventDefault();
    z.classList.add('over');
  });
  z.addEventListener('dragleave', () => z.classList.remove('over'));
  z.addEventListener('drop', (e) => {
    e.preventDefault();
    z.classList.remove('over');
    onFiles(Array.from(e.dataTransfer?.files ?? []));
  });
}

function showProgress(points: Array<{ step: number; loss: number }>, p: QuantizeProgress): void {
  points.push({ step: p.unitIndex * p.total + p.step, loss: p.loss });
  const all = p.units * p.total;
  const done = p.unitIndex * p.total + p.step;
  const bar = $('bar') as HTMLProgressElement;
  bar.max = all;
  bar.value = done;
  const unit = p.units > 1 ? ` — ${p.unit} (${p.unitIndex + 1}/${p.units})` : '';
  status('progress-text', `step ${done} / ${all}${unit}, loss ${p.loss.toPrecision(4)}, ${p.elapsedSeconds.toFixed(0)} s elapsed, about ${Math.max(0, p.etaSeconds).toFixed(0)} s left`);
  $('loss-chart').replaceChildren(lossChart(points, all));
  if (p.heldOutAgreement !== undefined) status('agreement-text', `held-back agreement so far: ${(100 * p.heldOutAgreement).toFixed(1)}% (step ${done}, as if the run stopped there)`);
}

function download(name: string, data: Uint8Array): void {
  const url = URL.createObjectURL(new Blob([data as Uint8Array<ArrayBuffer>]));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function showResult(m: PageModel, r: WorkerQuantizeResult, seconds: number): void {
  const rep = r.report;
  const pct = (x: number | null) => (x === null ? '—' : `${(100 * x).toFixed(2)}%`);
  const rows: Array<[string, string]> = [
    ['method', `${rep.method.toUpperCase()} W${rep.wBits}A${rep.aBits} (${rep.iterations ? `${rep.iterations} iterations` : 'no reconstruction'}${rep.biasCorrection?.kept ? ', bias corrected' : ''})`],
    ['top-1 agreement with the float model, held-back images', `${pct(rep.heldOutAgreement)} of ${rep.heldOutImages} (W${rep.wBits}A${rep.aBits} as simulated)`],
    ['… of the stock TF.js download (float activations)', r.exportAgreement === null ? '— (no images held back)' : `${pct(r.exportAgreement)} of ${rep.heldOutImages}`],
    ['top-1 agreement, calibration images', `${pct(rep.calibrationAgreement)} of ${rep.calibImages}`],
    ['layer weights', `${kb(rep.size.fp32Bytes)} float32 → ${kb(rep.size.quantizedBytes)} at these bits (${rep.size.ratio.toFixed(1)}× smaller)`],
    ['model files', `${kb(m.bytes)} given → ${TARGETS.map((t, i) => `${t.target} ${kb(r.files[i]!.reduce((s, f) => s + f.data.length, 0))}`).join(', ')}`],
    ['time', `${seconds.toFixed(1)} s in the page, ${rep.threads} worker${rep.threads === 1 ? '' : 's'}`],
  ];
  const table = document.createElement('table');
  table.id = 'result-table';
  for (const [k, v] of rows) {
    const tr = table.insertRow();
    tr.insertCell().textContent = k;
    tr.insertCell().textContent = v;
  }
  $('result').replaceChildren(table);
  $('bits-chart').replaceChildren(bitsChart(rep.policy));
  const dl = $('downloads');
  dl.replaceChildren();
  TARGETS.forEach((t, i) => {
    const p = document.createElement('p');
    p.append(`${t.label}: `);
    for (const f of r.files[i]!) {
      const b = document.createElement('button');
      b.type = 'button';
      b.dataset['target'] = t.target;
      b.textContent = `${f.name} (${kb(f.data.length)})`;
      b.addEventListener('click', () => download(f.name, f.data));
      p.append(b);
    }
    dl.append(p);
  });
}

async function start(): Promise<void> {
  if (!model) return;
  const m = model;
  const value = (id: string) => ($(id) as HTMLInputElement | HTMLSelectElement).value;
  controller = new AbortController();
  refresh();
  const points: Array<{ step: number; loss: number }> = [];
  status('agreement-text', '');
  const t0 = performance.now();
  const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  try {
    const held = Math.floor(images.length * Number(value('held')));
    const calibFiles = images.slice(0, images.length - held);
    const heldFiles = images.slice(images.length - held);
    const reading = { order: value('order') as 'rgb' | 'bgr', fit: value('fit') as 'stretch' | 'crop', preprocess: inputRange(value('range'), m.inputShape[2]) };
    const onImage = (n: number) => status('progress-text', `reading images: ${n} / ${images.length}`);
    const calibration = await imagesToRows(calibFiles, m.inputShape, { ...reading, onImage });
    const heldOut = held > 0 ? await imagesToRows(heldFiles, m.inputShape, { ...reading, onImage: (n) => onImage(calibFiles.length + n) }) : undefined;
    const iters = Number(value('iters'));
    const threads = Number(value('threads'));
    const config = { method: value('method') as 'nwq', wBits: Number(value('wbits')), aBits: Number(value('abits')), ...(iters > 0 ? { iterations: iters } : {}), ...(threads > 1 ? { threads } : {}) };
    status('progress-text', 'preparing (calibration statistics, float targets)…');
    const r = await quantizeInWorker(
      worker,
      { model: m.artifacts, calibration, ...(heldOut ? { heldOut } : {}), config, saves: TARGETS.map((t) => ({ target: t.target })), backend: { wasmPaths: WASM } },
      { signal: controller.signal, onProgress: (p) => showProgress(points, p), replicaWorker: () => new Worker(new URL('./replica.js', import.meta.url), { type: 'module' }) },
    );
    const seconds = (performance.now() - t0) / 1000;
    status('progress-text', `done in ${seconds.toFixed(1)} s`);
    ($('bar') as HTMLProgressElement).value = ($('bar') as HTMLProgressElement).max;
    showResult(m, r, seconds);
  } catch (e) {
    const err = e as Error & { code?: string };
    status('progress-text', err.code === 'E_ABORTED' ? 'cancelled: the worker stopped after its current step' : `failed: ${err.message}`, err.code !== 'E_ABORTED');
  } finally {
    worker.terminate();
    controller = null;
    refresh();
  }
}

$('model-files').addEventListener('change', (e) => setModel(() => modelFromFiles(Array.from((e.target as HTMLInputElement).files ?? []), (f) => tf.io.browserFiles(f))));
$('demo-model').addEventListener('click', () => setModel(() => modelFromUrl('./demo/model/model.json', (u) => tf.io.http(u))));
dropZone('model-drop', (files) => setModel(() => modelFromFiles(files, (f) => tf.io.browserFiles(f))));
for (const id of ['image-files', 'image-list']) $(id).addEventListener('change', (e) => setImages(Array.from((e.target as HTMLInputElement).files ?? [])));
$('demo-images').addEventListener('click', async () => {
  status('images-status', 'loading the demo images…');
  setImages(await demoImages());
});
dropZone('images-drop', setImages);
$('start').addEventListener('click', () => void start());
$('cancel').addEventListener('click', () => controller?.abort());
backend.then(
  (info) => {
    document.body.setAttribute('data-backend', `${info.backend}${info.simd ? '+simd' : ''}`);
    // more workers than cores only share them; without cross-origin isolation there is no SharedArrayBuffer
    const cores = navigator.hardwareConcurrency || 1;
    for (const o of Array.from(($('threads') as HTMLSelectElement).options)) o.disabled = Number(o.value) > 1 && (!crossOriginIsolated || Number(o.value) > cores);
  },
  (e: Error) => status('model-status', e.message, true),
);
document.body.setAttribute('data-ready', 'true');
