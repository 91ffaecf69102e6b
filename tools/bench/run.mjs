#!/usr/bin/env node
// lowbit benchmarks: `pnpm bench` (builds first). Prints a table and rewrites the generated
// section of docs/benchmarks.md; `pnpm bench --json` prints one JSON object instead.
// Also writes the raw figures to docs/bench-results.json (unless --json or --no-write).
// Options: --json, --repeats N (default 7), --no-write (leave docs/benchmarks.md alone),
// --skip-ptq (do not time the default `lowbit ptq` end to end, ~5 minutes).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { option, replaceSection, writeJson } from './lib.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const { initBackend } = await import(`${root}packages/core/dist/index.js`);
const { benchEval, benchNwqIter, benchTrainStep, benchTrainStepParallel, profileTrainStep } = await import(`${root}apps/cli/dist/bench/index.js`);

const args = process.argv.slice(2);
const json = args.includes('--json');
const write = !args.includes('--no-write') && !json;
const repeats = Number(option(args, '--repeats', '7'));
const log = (m) => (json ? process.stderr : process.stdout).write(`${m}\n`);

// PyTorch reference: the same resnet-fm training step, when `import torch` works here. Timed first,
// before this process has done any tfjs work: its 2-thread OpenMP step is easily disturbed by any
// other runnable thread (this process's background GC and compiler threads after heavy work made it
// 40–170% slower). Two runs of the script; the faster median per thread count is reported.
let torch = null;
// the first interpreter that imports torch: $LOWBIT_PYTHON, python3 on PATH, Debian's /usr/bin/python3
const python = [process.env.LOWBIT_PYTHON, 'python3', '/usr/bin/python3'].filter(Boolean).find((py) => spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0);
if (python) {
  log(`timing the PyTorch resnet-fm training step (1 and 2 threads, ${python}) …`);
  const runs = [0, 1].map(() => {
    const r = spawnSync(python, [`${root}tools/bench/torch_resnet_step.py`, '--repeats', String(Math.max(repeats, 11))], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tools/bench/torch_resnet_step.py failed: ${r.stderr}`);
    return JSON.parse(r.stdout);
  });
  torch = { ...runs[0], threads: Object.fromEntries(Object.keys(runs[0].threads).map((t) => [t, Math.min(...runs.map((r) => r.threads[t]))])), runs: runs.map((r) => r.threads) };
} else log('PyTorch not importable (apt-get install python3-torch provides it): its row is skipped');

const backend = await initBackend();
const machine = {
  cpu: os.cpus()[0]?.model ?? 'unknown',
  cores: os.cpus().length,
  node: process.version,
  backend: `${backend.backend}${backend.simd ? ' SIMD' : ''}${backend.kernels ? ' + lowbit kernels' : ''}`,
  date: new Date().toISOString().slice(0, 10),
};
log(`machine: ${machine.cpu}, ${machine.cores} cores, node ${machine.node}, ${machine.backend}`);

const steps = [];
for (const model of ['resnet-fm', 'mbv2-fm']) {
  for (const batch of [64, 128]) {
    log(`timing ${model} batch ${batch} …`);
    const r = benchTrainStep(model, batch, repeats);
    delete r.samples;
    steps.push(r);
  }
}
// data parallelism over the machine's cores (`lowbit train --threads`, `lowbit mpq train --threads`)
const threads = Math.min(2, machine.cores);
const parallelSteps = [];
if (threads > 1) {
  for (const model of ['resnet-fm', 'mbv2-fm']) {
    log(`timing ${model} batch 64 over ${threads} threads …`);
    parallelSteps.push(await benchTrainStepParallel(model, 64, repeats, threads));
  }
}
log('profiling one resnet-fm training step (batch 64) …');
const profile = await profileTrainStep('resnet-fm', 64);
log('timing evaluation on the bundled test set …');
const evals = ['resnet-fm', 'mbv2-fm'].map((m) => benchEval(m));
log('timing NWQ W4A4 iterations (batch 32) …');
const nwq = [];
for (const m of ['resnet-fm', 'mbv2-fm']) nwq.push(await benchNwqIter(m));

// the default `lowbit ptq` end to end, as a user runs it
let ptqDefault = null;
if (!args.includes('--skip-ptq')) {
  log('timing the default `lowbit ptq` end to end …');
  const out = mkdtempSync(join(tmpdir(), 'lowbit-bench-ptq-'));
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [`${root}apps/cli/dist/bin.js`, 'ptq', '--json', '--out', out], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const wall = (performance.now() - t0) / 1000;
  rmSync(out, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`lowbit ptq failed: ${r.stderr}`);
  const rep = JSON.parse(r.stdout);
  ptqDefault = { seconds: wall, reportedSeconds: rep.seconds, fp32Accuracy: rep.fp32Accuracy, quantizedAccuracy: rep.quantizedAccuracy, method: rep.method, wBits: rep.wBits, aBits: rep.aBits };
}

const result = {
  machine,
  repeats,
  // lowbit's fastest configuration on this machine: data parallel over the cores when there are two
  resnetTrainStepMs: (parallelSteps.find((s) => s.model === 'resnet-fm') ?? steps.find((s) => s.model === 'resnet-fm' && s.batch === 64)).trainStepMs,
  mbv2TrainStepMs: (parallelSteps.find((s) => s.model === 'mbv2-fm') ?? steps.find((s) => s.model === 'mbv2-fm' && s.batch === 64)).trainStepMs,
  trainStepThreads: parallelSteps.length ? threads : 1,
  resnetTrainStep1ThreadMs: steps.find((s) => s.model === 'resnet-fm' && s.batch === 64).trainStepMs,
  mbv2TrainStep1ThreadMs: steps.find((s) => s.model === 'mbv2-fm' && s.batch === 64).trainStepMs,
  torchResnetTrainStepMs: torch ? torch.threads['2'] : null,
  torchResnetTrainStepMs1Thread: torch ? torch.threads['1'] : null,
  torchVersion: torch?.torch ?? null,
  nwqIterMs: nwq.find((n) => n.model === 'resnet-fm').nwqIterMs,
  mbv2NwqIterMs: nwq.find((n) => n.model === 'mbv2-fm').nwqIterMs,
  ptqDefaultSeconds: ptqDefault ? ptqDefault.seconds : null,
  ptqDefault,
  evalImagesPerSecond: Object.fromEntries(evals.map((e) => [e.model, e.imagesPerSecond])),
  steps,
  parallelSteps,
  eval: evals,
  profile: { model: 'resnet-fm', batch: 64, totalMs: profile.totalMs, top: profile.rows.slice(0, 15) },
};

if (json) {
  console.log(JSON.stringify(result));
  process.exit(0);
}
if (write) {
  // the raw figures beside the rendered table, for tools and issue notes
  writeJson(`${root}docs/bench-results.json`, result);
}

const f1 = (v) => v.toFixed(1);
const md = [];
md.push(`Command: \`pnpm bench\` (median of ${repeats} after 2 warm-up runs), ${machine.date}.`);
md.push(`Machine: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, tfjs 4.22 ${machine.backend}.`);
md.push('');
md.push('### Training step (random data, freshly initialised weights)');
md.push('');
md.push('| model | batch | forward, inference (ms) | forward, train BN (ms) | forward + backward (ms) | SGD step (ms) | training images/s |');
md.push('|---|---|---|---|---|---|---|');
for (const s of steps) md.push(`| ${s.model} | ${s.batch} | ${f1(s.forwardMs)} | ${f1(s.forwardTrainBnMs)} | ${f1(s.forwardBackwardMs)} | ${f1(s.trainStepMs)} | ${s.imagesPerSecond.toFixed(0)} |`);
md.push('');
md.push('"forward, inference" uses running BN statistics (unfolded); "SGD step" is forward + backward + Nesterov-momentum update with weight decay.');
md.push('');
if (parallelSteps.length) {
  md.push(`Data parallel over ${threads} threads (\`--threads ${threads}\`: each thread a wasm instance with its share of the batch, batch norm synchronised, gradients summed; same result up to float rounding):`);
  md.push('');
  md.push('| model | batch | threads | SGD step (ms) | training images/s | speed-up over 1 thread |');
  md.push('|---|---|---|---|---|---|');
  for (const p of parallelSteps) {
    const one = steps.find((s) => s.model === p.model && s.batch === p.batch).trainStepMs;
    md.push(`| ${p.model} | ${p.batch} | ${p.threads} | ${f1(p.trainStepMs)} | ${p.imagesPerSecond.toFixed(0)} | ${(one / p.trainStepMs).toFixed(2)}× |`);
  }
  md.push('');
}
const rs = result.resnetTrainStepMs;
if (torch) {
  md.push(`PyTorch ${torch.torch} (CPU, same architecture and optimiser, \`tools/bench/torch_resnet_step.py\`), resnet-fm SGD step at batch 64: **${f1(torch.threads['2'])} ms with 2 threads**, ${f1(torch.threads['1'])} ms with 1. lowbit (${result.trainStepThreads} thread${result.trainStepThreads > 1 ? 's' : ''}, ${f1(rs)} ms)/PyTorch (2 threads) = **${(rs / torch.threads['2']).toFixed(2)}×** (target ≤ 2×); with one thread each: ${f1(result.resnetTrainStep1ThreadMs)} / ${f1(torch.threads['1'])} ms = ${(result.resnetTrainStep1ThreadMs / torch.threads['1']).toFixed(2)}×.`);
} else md.push('PyTorch row skipped: `python3 -c "import torch"` fails on this machine (`apt-get install python3-torch` provides it).');
md.push('');
md.push('### Reconstruction and the default PTQ run');
md.push('');
md.push('| what | time |');
md.push('|---|---|');
for (const n of nwq) md.push(`| one NWQ W4A4 iteration, ${n.model}, batch 32 | ${f1(n.nwqIterMs)} ms |`);
if (ptqDefault) md.push(`| default \`lowbit ptq\` end to end (${ptqDefault.method} W${ptqDefault.wBits}A${ptqDefault.aBits}, resnet-fm, 1,000 iterations, test-set evaluation included) | ${ptqDefault.seconds.toFixed(0)} s (target ≤ 180 s); fp32 ${(100 * ptqDefault.fp32Accuracy).toFixed(2)}% → ${(100 * ptqDefault.quantizedAccuracy).toFixed(2)}% |`);
md.push('');
md.push('### Evaluation throughput (bundled test set, 10,000 images, batch 250)');
md.push('');
md.push('| model | images/s | top-1 |');
md.push('|---|---|---|');
for (const e of evals) md.push(`| ${e.model} | ${e.imagesPerSecond.toFixed(0)} | ${e.accuracy === null ? 'n/a (checkpoint not bundled yet; random weights)' : `${(100 * e.accuracy).toFixed(2)}%`} |`);
md.push('');
md.push(`### Where the time goes: kernels of one resnet-fm training step (batch 64), tf.profile, ${f1(profile.totalMs)} ms of kernel time`);
md.push('');
md.push('Wall time per kernel, dispatch included. lowbit\'s batch norm is a `customGrad`; its inner kernels are listed under their own names.');
md.push('');
md.push('| kernel | calls | ms | share |');
md.push('|---|---|---|---|');
for (const r of profile.rows.slice(0, 15)) md.push(`| ${r.kernel} | ${r.calls} | ${f1(r.ms)} | ${(100 * r.share).toFixed(1)}% |`);
const table = md.join('\n');
console.log(`\n${table}\n`);

if (write) {
  const path = `${root}docs/benchmarks.md`;
  replaceSection(path, '<!-- bench:start (generated by `pnpm bench`; do not edit by hand) -->', '<!-- bench:end -->', table);
  log(`updated ${path}`);
}
