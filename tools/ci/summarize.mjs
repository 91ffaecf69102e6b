// Sums the vitest JSON results of every project and prints `N passed, N failed`.
// A failed nx run (build, typecheck or lint) or a project whose tests left no results counts as
// a failure, so the line can never claim success that did not happen.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const nxExit = Number(process.argv[2] ?? '0');
let passed = 0;
let failed = 0;
const problems = [];
for (const group of ['packages', 'apps']) {
  if (!existsSync(group)) continue;
  for (const name of readdirSync(group)) {
    const dir = join(group, name);
    const pkgFile = join(dir, 'package.json');
    if (!existsSync(pkgFile)) continue;
    const pkg = JSON.parse(readFileSync(pkgFile, 'utf8'));
    if (!pkg.scripts?.test) continue;
    const results = join(dir, '.vitest-results', 'results.json');
    if (!existsSync(results)) {
      problems.push(`${pkg.name}: no test results (tests did not run or crashed)`);
      failed += 1;
      continue;
    }
    const r = JSON.parse(readFileSync(results, 'utf8'));
    passed += r.numPassedTests ?? 0;
    failed += r.numFailedTests ?? 0;
    if ((r.numTotalTests ?? 0) === 0) {
      problems.push(`${pkg.name}: ran no test`);
      failed += 1;
    }
    for (const f of r.testResults ?? []) {
      if (f.status === 'failed' && (f.assertionResults ?? []).every((a) => a.status !== 'failed')) {
        problems.push(`${pkg.name}: ${f.name} failed to run: ${String(f.message).split('\n')[0]}`);
        failed += 1;
      }
    }
  }
}
if (nxExit !== 0 && failed === 0) {
  problems.push(`nx exited with ${nxExit} (a build, typecheck or lint step failed)`);
  failed += 1;
}
for (const p of problems) console.log(`problem: ${p}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 || nxExit !== 0 ? 1 : 0);
