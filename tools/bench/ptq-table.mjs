#!/usr/bin/env node
// PTQ benchmark sweep: every model × bit setting × method (and the NWQ ablations), each one
// `lowbit ptq --json` process, `--jobs` at a time. Results are appended to docs/ptq-results.json as
// they finish (a rerun skips what is done), then rendered into docs/benchmarks.md between the
// `ptq:start` / `ptq:end` markers.
// Usage: node tools/bench/ptq-table.mjs [--models resnet-fm,mbv2-fm] [--settings w4a4,w2a4,w3a3,w2a2]
//          [--methods rtn,adaround,brecq,qdrop,nwq] [--ablations] [--ablation-settings w2a4] [--jobs 2] [--iters N] [--render-only]
//          (`--methods none` runs only the ablations; they run at --ablation-settings, default all --settings)
//          [--results docs/ptq-results.json] [--doc docs/benchmarks.md]
//          [--weight-grid asymmetric|symmetric|auto] (every run on that grid; its rows are named '<method>, <grid> grid';
//            without it the runs take the CLI's default grid and the rows are named '<method>')
//          [--section NAME] (render into the markers <!-- ptq-NAME:start … --> / <!-- ptq-NAME:end --> instead of the main PTQ table)
//          [--extra '--bias-correction off' --suffix 'no bias correction'] (more flags for every run; rows named '<method>, <suffix>')
//          [--threads N] (passed to every run; with --jobs 2 on 2 cores, --threads 1 keeps them apart)
import { existsSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { option, replaceSection, runNode, writeJson } from './lib.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const args = process.argv.slice(2);
const opt = (n, d) => option(args, n, d);
const models = opt('--models', 'resnet-fm,mbv2-fm').split(',');
const settings = opt('--settings', 'w4a4,w2a4,w3a3,w2a2').split(',');
const methods = opt('--methods', 'rtn,adaround,brecq,qdrop,nwq').split(',').filter((m) => m && m !== 'none');
const ablationSettings = opt('--ablation-settings', settings.join(',')).split(',');
const jobs = Number(opt('--jobs', '2'));
const iters = opt('--iters', undefined);
const grid = opt('--weight-grid', undefined);
const threads = opt('--threads', undefined);
const gridExtra = grid ? ['--weight-grid', grid] : [];
const extra = (opt('--extra', '') ?? '').split(/\s+/).filter(Boolean);
const suffix = opt('--suffix', extra.length ? extra.join(' ') : '');
const gridName = (n) => [n, ...(grid ? [`${grid} grid`] : []), ...(suffix ? [suffix] : [])].join(', ');
const section = opt('--section', undefined);
const resultsPath = opt('--results', `${root}docs/ptq-results.json`);
const docPath = opt('--doc', `${root}docs/benchmarks.md`);

const ABLATIONS = [
  { name: 'nwq, AR over layers', method: 'nwq', extra: ['--ar', 'layers'] },
  { name: 'nwq, no AR (output only)', method: 'nwq', extra: ['--ar', 'none'] },
  { name: 'block-wise, ASoftmax + AMixup', method: 'nwq', extra: ['--recon', 'block'] },
  { name: 'nwq with sigmoid (AdaRound) rounding', method: 'nwq', extra: ['--rounding', 'adaround'] },
  { name: 'nwq with QDrop drop', method: 'nwq', extra: ['--mixing', 'qdrop'] },
  { name: 'nwq without mixing', method: 'nwq', extra: ['--mixing', 'none'] },
];

const results = existsSync(resultsPath) ? JSON.parse(readFileSync(resultsPath, 'utf8')) : [];
const keyOf = (j) => JSON.stringify([j.model, j.setting, j.name, j.iters ?? null]);
const done = new Set(results.map(keyOf));
const save = () => writeJson(resultsPath, results);

const queue = [];
for (const model of models) {
  for (const setting of settings) {
    const [, w, a] = /^w(\d)a(\d)$/.exec(setting);
    for (const m of methods) queue.push({ model, setting, w, a, name: gridName(m), method: m, extra: [...gridExtra, ...extra], iters });
    if (args.includes('--ablations') && ablationSettings.includes(setting)) for (const ab of ABLATIONS) queue.push({ model, setting, w, a, ...ab, name: gridName(ab.name), extra: [...ab.extra, ...gridExtra, ...extra], iters });
  }
}
const todo = args.includes('--render-only') ? [] : queue.filter((j) => !done.has(keyOf(j)));
console.log(`${todo.length} runs to do (${queue.length - todo.length} already in ${resultsPath})`);

async function runOne(j) {
  const out = `${root}runs/bench-ptq/${j.model.replace(/[^\w.-]+/g, '_')}-${j.setting}-${j.name.replace(/[^\w]+/g, '_')}`;
  const a = ['apps/cli/dist/bin.js', 'ptq', '--model', j.model, '--method', j.method, '--wbits', j.w, '--abits', j.a, '--json', '--out', out, ...j.extra];
  if (j.iters && j.method !== 'rtn') a.push('--iters', j.iters);
  if (threads) a.push('--threads', threads);
  // a cell killed part-way (a session's end) continues from its state
  if (existsSync(`${out}/ptq-state.json`)) a.push('--resume');
  const t0 = Date.now();
  const { code, stdout, stderr } = await runNode(a, { cwd: root });
  if (code !== 0) {
    console.log(`FAILED ${j.model} ${j.setting} ${j.name}: ${stderr.trim().split('\n').pop()}`);
    return;
  }
  const r = JSON.parse(stdout.trim().split('\n').pop());
  results.push({ model: j.model, setting: j.setting, name: j.name, iters: j.iters ?? null, command: `lowbit ${a.slice(1).join(' ')}`, wallSeconds: (Date.now() - t0) / 1000, report: r });
  save();
  console.log(`${j.model} ${j.setting} ${j.name}: ${(100 * r.quantizedAccuracy).toFixed(2)}% (fp32 ${(100 * r.fp32Accuracy).toFixed(2)}%), ${r.seconds.toFixed(0)} s`);
}

const workers = Array.from({ length: Math.max(1, jobs) }, async () => {
  while (todo.length) await runOne(todo.shift());
});
await Promise.all(workers);

// render
const pct = (x) => `${(100 * x).toFixed(2)}`;
const md = [];
// every model and method in the results file, not only this run's: the table is the whole record
// a model.json path shows as its directory's name (tools/foreign/models/foreign-mbv2/model.json → foreign-mbv2)
const display = (m) => (m.endsWith('/model.json') ? m.split('/').at(-2) : m);
const allModels = [...new Set(['resnet-fm', 'mbv2-fm', ...results.map((r) => r.model)])];
for (const model of allModels) {
  const rows = results.filter((r) => r.model === model);
  if (!rows.length) continue;
  const fp = rows[0].report.fp32Accuracy;
  // columns: every setting this model has results for (not only this run's --settings)
  const cols = ['w4a4', 'w2a4', 'w3a3', 'w2a2', ...new Set(rows.map((r) => r.setting))].filter((s, i, all) => all.indexOf(s) === i && rows.some((r) => r.setting === s));
  md.push(`### ${display(model)} (FP32 ${pct(fp)}%): test top-1 %, first/last layer 8-bit, 1,024 calibration images`);
  md.push('');
  md.push(`| method | ${cols.map((s) => s.toUpperCase()).join(' | ')} | iterations | wall time (s) per setting |`);
  md.push(`|---|${cols.map(() => '---').join('|')}|---|---|`);
  const known = ['rtn', 'adaround', 'brecq', 'qdrop', 'nwq', ...ABLATIONS.map((a) => a.name)];
  // then any other runs recorded in the results file (e.g. a longer NWQ run), in the order they were added
  const names = [...known, ...new Set(rows.map((r) => r.name).filter((n) => !known.includes(n)))];
  for (const name of names) {
    const cells = cols.map((s) => rows.find((r) => r.setting === s && r.name === name));
    if (cells.every((c) => !c)) continue;
    const rec = cells.find(Boolean).report.reconstruction;
    const itersTxt = rec ? `${rec.iterations}${rec.granularity === 'network' ? '' : ` per ${rec.granularity}`}` : '—';
    md.push(`| ${name} | ${cells.map((c) => (c ? pct(c.report.quantizedAccuracy) : '')).join(' | ')} | ${itersTxt} | ${cells.map((c) => (c ? c.report.seconds.toFixed(0) : '')).join(' / ')} |`);
  }
  md.push('');
}
// one chart per model: test accuracy of the five methods across the settings (ablations are in the table only)
const { writeChart } = await import(`${root}apps/cli/dist/util/plot.js`);
const order = ['w4a4', 'w3a3', 'w2a4', 'w2a2'];
const METHODS = ['rtn', 'adaround', 'brecq', 'qdrop', 'nwq'];
for (const model of allModels) {
  const rows = results.filter((r) => r.model === model && METHODS.includes(r.name) && order.includes(r.setting));
  if (!rows.length) continue;
  const fp = rows[0].report.fp32Accuracy;
  const data = rows.map((r) => ({ setting: r.setting.toUpperCase(), method: r.name, accuracy: 100 * r.report.quantizedAccuracy }));
  for (const s of order) if (rows.some((r) => r.setting === s)) data.push({ setting: s.toUpperCase(), method: 'FP32', accuracy: 100 * fp });
  const slug = display(model).replace(/[^\w.-]+/g, '_');
  await writeChart(`${root}docs/plots/ptq-${slug}`, {
    title: `${display(model)}: PTQ test top-1 by method (first/last 8-bit)`,
    data,
    x: { field: 'setting', title: 'bit-widths', type: 'ordinal', sort: order.map((o) => o.toUpperCase()) },
    y: { field: 'accuracy', title: 'test top-1 (%)' },
    color: 'method',
  });
  md.push(`![${display(model)} PTQ accuracy by method and bit-width](plots/ptq-${slug}.png)`);
  md.push('');
}
md.push(`Produced by \`node tools/bench/ptq-table.mjs\` (one \`lowbit ptq --json\` process per cell; a rerun skips finished cells); every run's exact command and full report are in \`${relative(root, resultsPath)}\`; the plots are \`docs/plots/ptq-<model>.svg|png\`.`);
const tag = section ? `ptq-${section}` : 'ptq';
replaceSection(docPath, `<!-- ${tag}:start (generated by tools/bench/ptq-table.mjs) -->`, `<!-- ${tag}:end -->`, md.join('\n'), section ? undefined : 'Post-training quantization');
console.log(md.join('\n'));
