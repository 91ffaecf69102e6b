// The bad-input suite (issue 20): every case of bad-inputs.ts — a mutated model, ptq output or
// state file, or a bad option — must exit 2 with one line on stderr that names the problem and
// ends with its error code (an option error: the command and a --help hint), and write nothing:
// no --out folder, no change to the input files.
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../src/program.js';
import { badInputs } from './bad-inputs.js';
import { lowbit, stderrLines } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'lowbit-bad-input-'));
const ptqOut = join(root, 'ptq-out');
afterAll(() => rmSync(root, { recursive: true, force: true }));

beforeAll(() => {
  // a real ptq output to mutate: RTN W4A4 of resnet-fm, quick
  const r = lowbit('ptq', '--method', 'rtn', '--calib-size', '64', '--test-limit', '100', '--bias-correction', 'off', '--threads', '1', '--out', ptqOut);
  expect(r.status, r.stderr).toBe(0);
}, 300_000);

/** Every file under `dir` with its hash (what must not change). */
function digest(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      const st = lstatSync(p);
      // a link is what it points to (never followed: a case links to /dev/zero)
      if (st.isSymbolicLink()) out[p] = `-> ${readlinkSync(p)}`;
      else if (st.isDirectory()) walk(p);
      else out[p] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

const cases = badInputs(() => ptqOut);
let n = 0;

describe('bad inputs: exit 2, one line with the error code, nothing written', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const dir = join(root, `case-${n++}`);
    const out = join(root, `out-${n}`);
    const args = c.make(dir, out);
    const before = digest(dir);
    const r = lowbit(...args);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stdout).toBe('');
    const l = stderrLines(r.stderr);
    expect(l, r.stderr).toHaveLength(1);
    expect(l[0]).toMatch(c.message);
    if (c.code === 'usage') expect(l[0]).toMatch(/^lowbit( [a-z]+)*: error: .*--help/);
    else expect(l[0]).toMatch(new RegExp(`^lowbit: error: .* \\[${c.code}\\]$`));
    expect(l[0]).not.toMatch(/ at .*\.js:\d+/);
    expect(existsSync(out), 'no --out folder').toBe(false);
    expect(digest(dir)).toEqual(before);
  });

  it('covers every kind of input the issue names', () => {
    const kinds = new Set(cases.map((c) => c.name.split(':')[0]));
    expect([...kinds].sort()).toEqual(['TF.js LayersModel', 'flags', 'lowbit model.json', 'option', 'policy file', 'ptq --resume with a null state file', 'ptq --resume with a truncated state file', 'ptq output', 'ptq output given to mpq train as the float model', 'ptq output given to ptq as the float model'].sort());
  });
});

describe('warnings', () => {
  it('--threads above the cores is a warning line before the run (here the run then stops on a flag error)', () => {
    const cores = availableParallelism();
    const r = lowbit('ptq', '--method', 'rtn', '--iters', '5', '--threads', String(cores + 3));
    expect(r.status).toBe(2);
    const l = stderrLines(r.stderr);
    expect(l[0]).toBe(`lowbit: warning: --threads ${cores + 3} is more than the ${cores} core${cores === 1 ? '' : 's'} here; the threads share them and the run is slower than with --threads ${cores}`);
    expect(l[1]).toMatch(/^lowbit: error: --method rtn runs no optimisation; --iters does not apply \[E_ARG\]$/);
  });
});

describe('an internal error is one line that says so, with the trace in a file', () => {
  it('exit code 1, "this is a bug", and the file holds the stack', async () => {
    const program = new Command('lowbit');
    program.command('boom').action(() => {
      throw new TypeError("Cannot read properties of undefined (reading 'x')");
    });
    const errors: string[] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation((m: unknown) => void errors.push(String(m)));
    const saved = process.exitCode;
    try {
      await main(['node', 'lowbit', 'boom'], program);
      expect(process.exitCode).toBe(1);
    } finally {
      spy.mockRestore();
      process.exitCode = saved;
    }
    expect(errors).toHaveLength(1);
    const m = /^lowbit: internal error: Cannot read properties of undefined \(reading 'x'\) — this is a bug in lowbit; the trace is in (\S+)\. Please report it with that file\.$/.exec(errors[0]!);
    expect(m, errors[0]).not.toBeNull();
    const trace = readFileSync(m![1]!, 'utf8');
    expect(trace).toMatch(/^lowbit boom\n/);
    expect(trace).toMatch(/TypeError: Cannot read properties of undefined \(reading 'x'\)\n\s+at /);
    rmSync(m![1]!);
  });
});
