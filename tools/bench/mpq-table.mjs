#!/usr/bin/env node
// Mixed-precision benchmark: for each one-shot network, `lowbit mpq search --uniform <setting>` at the
// BitOps of uniform W4A4, W3A3 and W2A4 (first/last at 8 bits), each a `--json` process. Results are
// appended to docs/mpq-results.json as they finish (a rerun skips what is done) and rendered into
// docs/benchmarks.md between the `mpq:start` / `mpq:end` markers, next to the NWQ PTQ accuracy of the
// same uniform setting from docs/ptq-results.json when it is there.
// Usage: node tools/bench/mpq-table.mjs --run <label>=<one-shot dir> [--run …] [--settings W4A4,W3A3,W2A4]
//          [--jobs 2] [--render-only] [--results docs/mpq-results.json] [--doc docs/benchmarks.md]
// A label is '<model>' for the default one-shot run, or '<model>:<variant>' for ablations
// (e.g. resnet-fm:no-scheduler=runs/mpq-resnet-fm-nosched/oneshot).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { option, replaceSection, runNode, writeJson } from './lib.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const args = process.argv.slice(2);
const opt = (n, d) => option(args, n, d);
const runs = args.flatMap((a, i) => (args[i - 1] === '--run' ? [a] : [])).map((r) => {
  const [label, dir] = r.split('=');
  if (!label || !dir) throw new Error(`--run takes <label>=<one-shot dir>, got '${r}'`);
  return { label, dir };
});
const settings = opt('--settings', 'W4A4,W3A3,W2A4').split(',');
const jobs = Number(opt('--jobs', '2'));
const resultsPath = opt('--results', `${root}docs/mpq-results.json`);
const docPath = opt('--doc', `${root}docs/benchmarks.md`);

const results = existsSync(resultsPath) ? JSON.parse(readFileSync(resultsPath, 'utf8')) : [];
const keyOf = (j) => JSON.stringify([j.label, j.setting]);
const done = new Set(results.map(keyOf));
const save = () => writeJson(resultsPath, results);

const queue = [];
if (!args.includes('--render-only')) {
  for (const r of runs) for (const setting of settings) if (!done.has(keyOf({ label: r.label, setting }))) queue.push({ ...r, setting });
}

async function runOne(j) {
  const out = join(root, 'runs', 'mpq-bench', `${j.label.replace(/[^\w.-]+/g, '_')}-${j.setting}`);
  const cli = [join(root, 'apps/cli/dist/bin.js'), 'mpq', 'search', '--model', j.dir, '--uniform', j.setting, '--out', out, '--json'];
  const { code, stdout, stderr } = await runNode(cli);
  if (code !== 0) throw new Error(`${j.label} ${j.setting}: exit ${code}\n${stderr}`);
  const r = JSON.parse(stdout);
  return {
    label: j.label,
    setting: j.setting,
    command: `lowbit ${cli.slice(1).join(' ').replace(root, '')}`,
    accuracy: r.accuracy,
    uniformAccuracy: r.uniformAccuracy,
    cost: r.cost,
    uniformCost: r.uniformCost,
    fp32Accuracy: r.fp32Accuracy,
    maxBitsAccuracy: r.maxBitsAccuracy,
    searchSeconds: r.searchSeconds,
    evaluations: r.evaluations,
    forwardPasses: r.forwardPasses,
    chosen: r.chosen,
    validation: r.validation ?? null,
    endPoint: r.endPoint ? { accuracy: r.endPoint.accuracy, cost: r.endPoint.cost } : null,
    policy: r.policy,
  };
}

let next = 0;
async function worker() {
  while (next < queue.length) {
    const j = queue[next++];
    process.stderr.write(`mpq search ${j.label} ${j.setting} …\n`);
    const r = await runOne(j);
    results.push(r);
    save();
    process.stderr.write(`  ${j.label} ${j.setting}: searched ${(100 * r.accuracy).toFixed(2)}% vs uniform ${(100 * r.uniformAccuracy).toFixed(2)}% (${r.evaluations} evaluations, ${r.searchSeconds.toFixed(0)} s)\n`);
  }
}
await Promise.all(Array.from({ length: Math.max(1, jobs) }, worker));

// render
const ptq = existsSync(join(root, 'docs/ptq-results.json')) ? JSON.parse(readFileSync(join(root, 'docs/ptq-results.json'), 'utf8')) : [];
const nwqAt = (model, setting) => ptq.find((p) => p.model === model && p.setting === setting.toLowerCase() && p.name === 'nwq' && !p.iters)?.report?.quantizedAccuracy ?? null;
const pct = (x) => (x === null || x === undefined ? '—' : `${(100 * x).toFixed(2)}%`);
const md = [];
md.push(`Produced by \`node tools/bench/mpq-table.mjs\` (each row one \`lowbit mpq search --uniform <setting> --json\`; raw results in docs/mpq-results.json).`);
md.push('Budget = the BitOps of the uniform policy (first/last layer at 8 bits). All accuracies are on the same one-shot weights, BN re-estimated on the 1,024 calibration images, on the 10,000 test images. The search scores policies by KL divergence from the max-bits predictions on the last 256 calibration images (BN re-estimated on the first 128 for each), lowers by error increase per BitOp saved and fills leftover budget; its end point and the uniform policy are then compared on 512 calibration images neither set used (same KL criterion, BN re-estimated on them) and the better one is returned. Rows without validation figures come from the version that compared them on the score set.');
md.push('');
md.push('| one-shot network | budget | returned | its test top-1 | uniform, same cost | mixed end point: test top-1, BitOps (M) | validation error: end point / uniform | FP32 | NWQ PTQ, same setting | search: evaluations, seconds |');
md.push('|---|---|---|---|---|---|---|---|---|---|');
for (const r of results) {
  const model = r.label.split(':')[0];
  const mixed = r.chosen === 'search' ? { accuracy: r.accuracy, cost: r.cost } : r.endPoint;
  const returned = r.chosen === undefined ? '' : r.chosen === 'search' ? 'mixed' : 'uniform';
  md.push(
    `| ${r.label} | ${r.setting} | ${returned} | ${pct(r.accuracy)} | ${pct(r.uniformAccuracy)} | ${mixed ? `${pct(mixed.accuracy)}, ${(mixed.cost / 1e6).toFixed(1)}` : '—'} | ${r.validation ? `${r.validation.searchError.toFixed(4)} / ${r.validation.uniformError.toFixed(4)}` : '—'} | ${pct(r.fp32Accuracy)} | ${r.label.includes(':') ? '' : pct(nwqAt(model, r.setting))} | ${r.evaluations}, ${r.searchSeconds.toFixed(0)} s |`,
  );
}
const table = md.join('\n');
console.log(table);
if (existsSync(docPath)) {
  replaceSection(docPath, '<!-- mpq:start (generated by tools/bench/mpq-table.mjs) -->', '<!-- mpq:end -->', table, 'Retraining-free mixed precision (one-shot weights + greedy search)');
}
