#!/usr/bin/env node
// Pareto evaluation of retraining-free mixed precision (issue 19): for each one-shot network (one
// per training seed), `lowbit mpq search` at the BitOps of uniform W2A3, W3A2, W2A4, W3A3, W4A4 and
// halfway between neighbouring levels, each compared on the test set, paired (McNemar), with every
// uniform policy that fits the budget; the row's verdict is against the best of those. Results are
// appended to docs/mpq-pareto.json as they finish (a rerun skips what is done), rendered into
// docs/benchmarks.md between the `mpq-pareto:start` / `mpq-pareto:end` markers, with a plot of both
// fronts in docs/plots/mpq-pareto-<model>.svg|png.
// Usage: node tools/bench/mpq-pareto.mjs --run <model>:<seed>=<one-shot dir> [--run …]
//          [--uniform W2A3,W3A2,W2A4,W3A3,W4A4] [--extra "<mpq search flags>"] [--name <search variant>]
//          [--jobs 1] [--render-only] [--results docs/mpq-pareto.json] [--doc docs/benchmarks.md]
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { option, replaceSection, runNode, writeJson } from './lib.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const args = process.argv.slice(2);
const opt = (n, d) => option(args, n, d);
const runs = args.flatMap((a, i) => (args[i - 1] === '--run' ? [a] : [])).map((r) => {
  const m = /^([^:=]+):([^=]+)=(.+)$/.exec(r);
  if (!m) throw new Error(`--run takes <model>:<seed>=<one-shot dir>, got '${r}'`);
  return { model: m[1], seed: m[2], dir: m[3] };
});
const uniformNames = opt('--uniform', 'W2A3,W3A2,W2A4,W3A3,W4A4').split(',');
const extra = (opt('--extra', '') ?? '').split(/\s+/).filter(Boolean);
const variant = opt('--name', extra.length ? extra.join(' ') : 'defaults');
const jobs = Number(opt('--jobs', '1'));
const resultsPath = opt('--results', `${root}docs/mpq-pareto.json`);
const docPath = opt('--doc', `${root}docs/benchmarks.md`);

const { initBackend } = await import(`${root}packages/core/dist/index.js`);
const { loadOneShot, uniformOneShotPolicy } = await import(`${root}packages/pipelines/dist/node/index.js`);
const { bitOpsCost } = await import(`${root}packages/greedy-search/dist/index.js`);
await initBackend({ backend: 'cpu' });

const parse = (n) => {
  const m = /^W(\d)A(\d)$/.exec(n);
  return { name: n, w: Number(m[1]), a: Number(m[2]) };
};

/** Budgets of one one-shot network: the uniform levels and the midpoints between distinct neighbouring levels. */
function budgetsOf(dir) {
  const { oneShot } = loadOneShot(dir);
  const cost = bitOpsCost(oneShot.net);
  const all = oneShot.config.bits.flatMap((w) => oneShot.config.bits.map((a) => ({ ...parse(`W${w}A${a}`), bitOps: cost(uniformOneShotPolicy(oneShot, w, a)) })));
  const levels = uniformNames
    .map((n) => {
      const u = all.find((v) => v.name === n);
      if (!u) throw new Error(`--uniform ${n}: not a pair of the one-shot network's candidate bits (${oneShot.config.bits.join(', ')})`);
      return u;
    })
    .sort((x, y) => x.bitOps - y.bitOps);
  oneShot.dispose();
  const out = levels.map((u) => ({ budget: u.name, kind: 'uniform', bitOps: u.bitOps }));
  const distinct = [...new Set(levels.map((u) => u.bitOps))];
  for (let i = 1; i < distinct.length; i++) {
    const mid = (distinct[i - 1] + distinct[i]) / 2;
    const names = levels.filter((u) => u.bitOps === distinct[i - 1] || u.bitOps === distinct[i]).map((u) => u.name);
    out.push({ budget: `halfway ${[...new Set(names)].join('/')}`, kind: 'bitops', bitOps: mid });
  }
  // every uniform policy (all candidate pairs) that fits each budget is compared with the searched one
  for (const b of out) b.compare = all.filter((u) => u.bitOps <= b.bitOps * (1 + 1e-12)).map((u) => u.name);
  return out.sort((x, y) => x.bitOps - y.bitOps);
}

const results = existsSync(resultsPath) ? JSON.parse(readFileSync(resultsPath, 'utf8')) : [];
const keyOf = (j) => JSON.stringify([j.model, j.seed, j.variant, j.budget]);
const done = new Set(results.map(keyOf));
const save = () => writeJson(resultsPath, results);

const queue = [];
if (!args.includes('--render-only')) {
  for (const r of runs) for (const b of budgetsOf(r.dir)) if (!done.has(keyOf({ ...r, variant, budget: b.budget }))) queue.push({ ...r, ...b, variant });
}

async function runOne(j) {
  const out = join(root, 'runs', 'mpq-pareto', `${j.model}-${j.seed}-${variant.replace(/[^\w.-]+/g, '_')}-${j.budget.replace(/[^\w.-]+/g, '_')}`);
  const budget = j.kind === 'uniform' ? ['--uniform', j.budget] : ['--bitops', String(j.bitOps / 1e9)];
  const cli = [join(root, 'apps/cli/dist/bin.js'), 'mpq', 'search', '--model', j.dir, ...budget, '--compare', j.compare.join(','), '--no-plot', ...extra, '--out', out, '--json'];
  const { code, stdout, stderr } = await runNode(cli);
  // a budget below what the search's floor (--min-bits) can reach is a row of its own, not a failure
  if (code === 2 && /\[E_BUDGET\]/.test(stderr)) {
    return { model: j.model, seed: j.seed, variant, budget: j.budget, bitOps: j.bitOps, command: `lowbit ${cli.slice(1).join(' ').replace(root, '')}`, unreachable: stderr.trim().split('\n').pop() };
  }
  if (code !== 0) throw new Error(`${j.model} ${j.seed} ${j.budget}: exit ${code}\n${stderr}`);
  const r = JSON.parse(stdout);
  const fitting = r.comparisons.filter((c) => c.fitsBudget);
  const best = fitting.reduce((a, c) => (!a || c.accuracy > a.accuracy ? c : a), null);
  return {
    model: j.model,
    seed: j.seed,
    variant,
    budget: j.budget,
    bitOps: j.bitOps,
    command: `lowbit ${cli.slice(1).join(' ').replace(root, '')}`,
    accuracy: r.accuracy,
    cost: r.cost,
    chosen: r.chosen,
    bestUniform: best ? { policy: best.policy, accuracy: best.accuracy, cost: best.cost, ...best.paired } : null,
    comparisons: r.comparisons.map((c) => ({ policy: c.policy, accuracy: c.accuracy, cost: c.cost, fitsBudget: c.fitsBudget, onlySearched: c.paired.onlyA, onlyUniform: c.paired.onlyB, pValue: c.paired.pValue })),
    maxBitsAccuracy: r.maxBitsAccuracy,
    fp32Accuracy: r.fp32Accuracy,
    searchSeconds: r.searchSeconds,
    evaluations: r.evaluations,
    policy: r.policy,
  };
}

let next = 0;
async function worker() {
  while (next < queue.length) {
    const j = queue[next++];
    process.stderr.write(`mpq search ${j.model} seed ${j.seed} ${j.budget} (${(j.bitOps / 1e6).toFixed(1)} M BitOps) …\n`);
    const r = await runOne(j);
    results.push(r);
    save();
    if (r.unreachable) {
      process.stderr.write(`  unreachable: ${r.unreachable}\n`);
      continue;
    }
    const b = r.bestUniform;
    process.stderr.write(`  searched ${(100 * r.accuracy).toFixed(2)}% vs best uniform ${b ? `${b.policy} ${(100 * b.accuracy).toFixed(2)}% (p = ${b.pValue.toPrecision(2)})` : '—'}\n`);
  }
}
await Promise.all(Array.from({ length: Math.max(1, jobs) }, worker));

// render: one table per variant, rows by model, budget; seeds side by side
const pct = (x) => (x === null || x === undefined ? '—' : `${(100 * x).toFixed(2)}`);
const md = [
  'Produced by `node tools/bench/mpq-pareto.mjs` (each row one `lowbit mpq search … --compare <every uniform policy that fits> --json`; raw results in docs/mpq-pareto.json). Budgets: the BitOps of uniform policies (first/last layer at 8 bits) and halfway between neighbouring levels. "best uniform" is the most accurate uniform policy (any W/A pair of the candidates) within the budget; Δ = searched − best uniform on the 10,000 test images, with its standard error and the exact McNemar p-value of the paired comparison.',
  '',
];
const variants = [...new Set(results.map((r) => r.variant))];
for (const v of variants) {
  md.push(`**Search: ${v}**`, '', '| one-shot network | seed | budget | BitOps (M) | searched top-1 | best uniform within budget | Δ (pt) ± SE | McNemar p |', '|---|---|---|---|---|---|---|---|');
  const rows = results.filter((r) => r.variant === v).sort((a, b) => a.model.localeCompare(b.model) || a.bitOps - b.bitOps || String(a.seed).localeCompare(String(b.seed)));
  for (const r of rows) {
    if (r.unreachable) {
      md.push(`| ${r.model} | ${r.seed} | ${r.budget} | ${(r.bitOps / 1e6).toFixed(1)} | below the search's floor | — | — | — |`);
      continue;
    }
    const b = r.bestUniform;
    md.push(`| ${r.model} | ${r.seed} | ${r.budget} | ${(r.bitOps / 1e6).toFixed(1)} | ${pct(r.accuracy)} | ${b ? `${b.policy} ${pct(b.accuracy)}` : '—'} | ${b ? `${b.difference >= 0 ? '+' : ''}${(100 * b.difference).toFixed(2)} ± ${(100 * b.standardError).toFixed(2)}` : '—'} | ${b ? b.pValue.toPrecision(2) : '—'} |`);
  }
  md.push('');
}
// plots: both fronts per model (searched points; uniform points from the comparisons)
const { writeChart } = await import(`${root}apps/cli/dist/util/plot.js`);
mkdirSync(join(root, 'docs/plots'), { recursive: true });
const plots = [];
for (const model of [...new Set(results.map((r) => r.model))]) {
  const data = [];
  for (const r of results.filter((x) => x.model === model && !x.unreachable)) {
    data.push({ cost: r.cost / 1e6, accuracy: r.accuracy, kind: `searched (${r.variant}, seed ${r.seed})`, label: '' });
    for (const c of r.comparisons) data.push({ cost: c.cost / 1e6, accuracy: c.accuracy, kind: `uniform (seed ${r.seed})`, label: c.policy });
  }
  const unique = [...new Map(data.map((d) => [JSON.stringify([d.kind, d.cost, d.label]), d])).values()];
  // the uniform front (no cheaper-or-equal uniform policy is as accurate) is a line; the dominated uniform policies are loose points
  const dominates = (o, d) => o.kind === d.kind && o.cost <= d.cost && o.accuracy >= d.accuracy && (o.cost < d.cost || o.accuracy > d.accuracy);
  const dominated = unique.filter((d) => d.kind.startsWith('uniform') && unique.some((o) => dominates(o, d)));
  for (const d of dominated) d.kind = d.kind.replace('uniform', 'uniform, dominated');
  const pointsOnly = new Set(dominated.map((d) => d.kind));
  await writeChart(join(root, `docs/plots/mpq-pareto-${model}`), { title: `${model}: mixed vs uniform precision on one-shot weights (10,000 test images)`, data: unique, x: { field: 'cost', title: 'BitOps (M)' }, y: { field: 'accuracy', title: 'top-1 accuracy', format: '.1%' }, color: 'kind', text: 'label', pointsOnly: [...pointsOnly] });
  plots.push(`![${model} Pareto fronts](plots/mpq-pareto-${model}.svg)`);
}
md.push(...plots);
const table = md.join('\n');
console.log(table);
if (existsSync(docPath) && results.length) {
  replaceSection(docPath, '<!-- mpq-pareto:start (generated by tools/bench/mpq-pareto.mjs) -->', '<!-- mpq-pareto:end -->', table, 'Mixed precision against uniform: Pareto evaluation');
}
