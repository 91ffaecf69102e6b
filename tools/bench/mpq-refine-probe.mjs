#!/usr/bin/env node
// Probe (issue 19): how much can a per-layer policy gain over the best uniform one on a one-shot
// network? A local search that starts AT the uniform policy WbAb and only moves when its score
// improves: each round measures every searchable knob's error change one and two candidates down
// and up (the sensitivities), ranks the budget-neutral combinations (one raise; one lowering + one
// raise; two lowerings + one raise; one lowering + two raises) by their summed (predicted) change,
// evaluates the `top` best predictions for real and applies the best if it lowers the score.
// Then both policies are evaluated on the test images not used for scoring (paired McNemar).
// Usage: node tools/bench/mpq-refine-probe.mjs <one-shot dir> <W> <A> [rounds 4] [top 8] [criterion kl|ce|error] [score: N (last N calibration images) | test:N (first N test images)]
// BN is re-estimated on the first 128 calibration images while scoring, on all 1,024 for the test.
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const { initBackend } = await import(`${root}packages/core/dist/index.js`);
const P = await import(`${root}packages/pipelines/dist/node/index.js`);
const G = await import(`${root}packages/greedy-search/dist/index.js`);
const { bundledCalibrationSet, subset } = await import(`${root}packages/data/dist/index.node.js`);
await initBackend();
const [dir, W, A, rounds = '4', maxMoves = '8', crit = 'kl', nScore = '256'] = process.argv.slice(2);
if (!dir || !W || !A) {
  console.error('usage: mpq-refine-probe.mjs <one-shot dir> <W> <A> [rounds] [top] [criterion] [score images | test:N]');
  process.exit(2);
}
const { oneShot } = P.loadOneShot(dir);
const calib = bundledCalibrationSet();
const knobs = P.oneShotKnobs(oneShot);
const cost = G.bitOpsCost(oneShot.net);
const uni = P.uniformOneShotPolicy(oneShot, Number(W), Number(A));
const budget = cost(uni);
let x = P.settingFromPolicy(knobs, uni);
const bn = P.fixedBatches(calib, 0, 128);
const fromTest = nScore.startsWith('test:');
const NS = Number(nScore.replace('test:', ''));
const testSet = P.fashionMnistTest('bundled');
const scoreSet = fromTest ? testSet : calib;
const scoreFrom = fromTest ? 0 : 1024 - NS;
const score = P.fixedBatches(scoreSet, scoreFrom, NS);
const targets = P.scoreTargets(oneShot, crit, scoreSet, scoreFrom, NS, bn, score);
let evals = 0;
const err = (s) => { evals++; return P.policyError(oneShot, G.policyFromKnobs(knobs, s), bn, score, targets); };
const cst = (s) => G.settingCost(knobs, cost, s);
let e0 = err(x);
console.log(`start W${W}A${A}: cost ${(budget / 1e6).toFixed(2)}M err ${e0.toFixed(5)}`);
const t0 = Date.now();
for (let r = 0; r < Number(rounds); r++) {
  const c0 = cst(x);
  const opts = []; // per knob: its moves { id, v (new bits), de (error change), dc (cost change) }
  for (const k of knobs) {
    if (k.candidates.length < 2) continue;
    const i = k.candidates.indexOf(x[k.id]);
    const o = [];
    for (const d of [-2, -1, 1, 2]) {
      const j = i + d;
      if (j < 0 || j >= k.candidates.length) continue;
      const y = { ...x, [k.id]: k.candidates[j] };
      o.push({ id: k.id, v: k.candidates[j], de: err(y) - e0, dc: cst(y) - c0 });
    }
    opts.push(o);
  }
  // budget-neutral combinations, ranked by their predicted (summed) error change
  const flat = opts.flat();
  const cands = [];
  for (const m of flat) if (m.dc > 0 && c0 + m.dc <= budget && m.de < 0) cands.push({ ms: [m], pred: m.de });
  const fits = (ms) => new Set(ms.map((m) => m.id)).size === ms.length && c0 + ms.reduce((t, m) => t + m.dc, 0) <= budget;
  const pred = (ms) => ms.reduce((t, m) => t + m.de, 0);
  const downs = flat.filter((m) => m.dc < 0);
  const ups = flat.filter((m) => m.dc > 0 && m.de < 0);
  for (const d of downs) for (const u of ups) if (fits([d, u]) && pred([d, u]) < 0) cands.push({ ms: [d, u], pred: pred([d, u]) });
  for (let i = 0; i < downs.length; i++) for (let j = i + 1; j < downs.length; j++) for (const u of ups) { const ms = [downs[i], downs[j], u]; if (fits(ms) && pred(ms) < 0) cands.push({ ms, pred: pred(ms) }); }
  for (const d of downs) for (let i = 0; i < ups.length; i++) for (let j = i + 1; j < ups.length; j++) { const ms = [d, ups[i], ups[j]]; if (fits(ms) && pred(ms) < 0) cands.push({ ms, pred: pred(ms) }); }
  cands.sort((a, b) => a.pred - b.pred);
  let best = null;
  for (const c of cands.slice(0, Number(maxMoves))) {
    const y = { ...x };
    for (const m of c.ms) y[m.id] = m.v;
    if (cst(y) > budget) continue;
    const e = err(y);
    if (!best || e < best.e) best = { y, e, c };
  }
  if (!best) { console.log('no candidate'); break; }
  console.log(`round ${r + 1}: ${cands.length} candidates, best ${best.c.ms.map((m) => `${m.id}:${x[m.id]}→${m.v}`).join(' + ')} predicted ${(e0 + best.c.pred).toFixed(5)}, err ${e0.toFixed(5)} → ${best.e.toFixed(5)}, cost ${(cst(best.y) / 1e6).toFixed(2)}M (${evals} evals, ${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  if (best.e >= e0) break;
  x = best.y;
  e0 = best.e;
}
// test
const test = fromTest ? subset(testSet, Int32Array.from({ length: testSet.size - NS }, (_, i) => NS + i), 'test images not scored on') : testSet;
const bnAll = P.fixedBatches(calib, 0, calib.size);
const a = P.evaluatePolicy(oneShot, G.policyFromKnobs(knobs, x), bnAll, test);
const u = P.evaluatePolicy(oneShot, uni, bnAll, test);
const cmp = P.comparePredictions(a.predictions, u.predictions, test.labels.subarray(0, a.samples));
console.log(`test: refined ${(100 * a.accuracy).toFixed(2)} vs uniform W${W}A${A} ${(100 * u.accuracy).toFixed(2)}; ${JSON.stringify(cmp)}`);
