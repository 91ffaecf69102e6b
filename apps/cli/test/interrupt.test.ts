// Interruption (issue 20): a `lowbit ptq` run stopped by Ctrl-C, or killed with SIGKILL at a random
// step or while it writes its checkpoint, resumes with --resume to exactly the model of a run that
// was never interrupted; a state file changed by hand is refused; Ctrl-C outside reconstruction ends
// the process at once. `lowbit mpq search` stops on Ctrl-C.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '@lowbit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lowbit, stderrLines } from './helpers.js';

const bin = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'bin.js');
const root = mkdtempSync(join(tmpdir(), 'lowbit-interrupt-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// a short NWQ run that checkpoints often; one thread, so that every run is bit-for-bit the same
const args = (out: string) => ['ptq', '--method', 'nwq', '--iters', '45', '--checkpoint-every', '3', '--calib-size', '64', '--test-limit', '100', '--threads', '1', '--out', out];
const weights = (out: string) => createHash('sha256').update(readFileSync(join(out, 'model.weights.bin'))).digest('hex');
const stateStep = (out: string): number => {
  try {
    return (JSON.parse(readFileSync(join(out, 'ptq-state.json'), 'utf8')) as { snapshot: { step: number } }).snapshot.step;
  } catch {
    return -1;
  }
};

/** Starts the run and calls `when` every few milliseconds until it returns true (then the process gets `signal`). */
function runUntil(out: string, when: () => boolean, signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve) => {
    const child: ChildProcess = spawn(process.execPath, [bin, ...args(out)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => void (stderr += String(d)));
    child.stdout!.resume();
    const timer = setInterval(() => {
      if (when()) {
        clearInterval(timer);
        child.kill(signal);
      }
    }, 2);
    child.on('exit', (code, sig) => {
      clearInterval(timer);
      resolve({ code, signal: sig, stderr });
    });
  });
}

let reference = '';
beforeAll(() => {
  const r = lowbit(...args(join(root, 'reference')));
  expect(r.status, r.stderr).toBe(0);
  reference = weights(join(root, 'reference'));
  expect(existsSync(join(root, 'reference', 'ptq-state.json')), 'the state is removed after a complete run').toBe(false);
}, 600_000);

describe('ptq stopped and resumed', () => {
  it('Ctrl-C stops after the current step with the state saved and exit 130; --resume says where it resumes and ends at the same model', async () => {
    const out = join(root, 'sigint');
    const r = await runUntil(out, () => stateStep(out) >= 12, 'SIGINT');
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toMatch(/stopping after the current step/);
    expect(r.stderr).toMatch(/stopped; resume with the same command plus --resume/);
    const saved = stateStep(out);
    expect(saved).toBeGreaterThanOrEqual(12);
    expect(saved).toBeLessThan(45);
    // keep a copy of the state for the edited-state cases below
    copyFileSync(join(out, 'ptq-state.json'), join(root, 'state-copy.json'));
    const resumed = lowbit(...args(out), '--resume');
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(new RegExp(`resuming at step ${saved} of unit 1`));
    expect(weights(out)).toBe(reference);
  }, 600_000);

  it('SIGTERM (a job scheduler, a container stop) does the same as Ctrl-C: state saved, exit 143, --resume ends at the same model', async () => {
    const out = join(root, 'sigterm');
    const r = await runUntil(out, () => stateStep(out) >= 9, 'SIGTERM');
    expect(r.code, r.stderr).toBe(143);
    expect(r.stderr).toMatch(/stopping after the current step \(SIGTERM again to quit at once\)/);
    const saved = stateStep(out);
    expect(saved).toBeGreaterThanOrEqual(9);
    const resumed = lowbit(...args(out), '--resume');
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(new RegExp(`resuming at step ${saved} of unit 1`));
    expect(weights(out)).toBe(reference);
  }, 600_000);

  it.each([1, 2])('SIGKILL at a random step (seed %i), then --resume: the same model', async (seed) => {
    const out = join(root, `kill-${seed}`);
    const at = 6 + new Rng(seed).int(30);
    const r = await runUntil(out, () => stateStep(out) >= at, 'SIGKILL');
    expect(r.signal).toBe('SIGKILL');
    const resumed = lowbit(...args(out), '--resume');
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(weights(out)).toBe(reference);
  }, 600_000);

  it('SIGKILL while the checkpoint is written: the previous state is intact, the temp file is cleaned up, --resume gives the same model', async () => {
    const out = join(root, 'kill-in-write');
    const writing = () => existsSync(out) && readdirSync(out).some((f) => /^\.ptq-state\.json\..*\.tmp$/.test(f)) && stateStep(out) >= 6;
    const r = await runUntil(out, writing, 'SIGKILL');
    expect(r.signal).toBe('SIGKILL');
    const resumed = lowbit(...args(out), '--resume');
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(weights(out)).toBe(reference);
    expect(readdirSync(out).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  }, 600_000);

  it.each([
    ['a variable removed', (s: { snapshot: { variables: Record<string, unknown> } }) => void delete s.snapshot.variables[Object.keys(s.snapshot.variables)[0]!]],
    ['step 99999', (s: { snapshot: { step: number } }) => void (s.snapshot.step = 99999)],
    ['the settings key changed', (s: { key: Record<string, unknown> }) => void (s.key['seed'] = 7)],
  ] as Array<[string, (s: never) => void]>)('a state file edited by hand (%s) is refused: exit 2, one line, nothing written', (_name, edit) => {
    const out = join(root, `edited-${_name.replace(/\W+/g, '-')}`);
    rmSync(out, { recursive: true, force: true });
    const s = JSON.parse(readFileSync(join(root, 'state-copy.json'), 'utf8'));
    edit(s as never);
    mkdirSync(out);
    writeFileSync(join(out, 'ptq-state.json'), JSON.stringify(s));
    const r = lowbit(...args(out), '--resume');
    expect(r.status).toBe(2);
    const l = stderrLines(r.stderr);
    expect(l, r.stderr).toHaveLength(1);
    expect(l[0]).toMatch(/^lowbit: error: --resume: '.*ptq-state\.json' was changed or damaged after lowbit wrote it \(its checksum does not match\); delete it to start over \[E_RESUME\]$/);
    expect(readdirSync(out)).toEqual(['ptq-state.json']);
  });

  it('a state file edited with its checksum recomputed (step 100000) is refused by the range checks: exit 2, the field named, nothing written', () => {
    const out = join(root, 'edited-rehashed');
    rmSync(out, { recursive: true, force: true });
    const s = JSON.parse(readFileSync(join(root, 'state-copy.json'), 'utf8')) as { key: unknown; snapshot: { step: number }; sha256: string };
    s.snapshot.step = 100_000;
    s.sha256 = createHash('sha256').update(JSON.stringify({ key: s.key, snapshot: s.snapshot })).digest('hex');
    mkdirSync(out);
    writeFileSync(join(out, 'ptq-state.json'), JSON.stringify(s));
    const r = lowbit(...args(out), '--resume');
    expect(r.status, r.stderr).toBe(2);
    const l = stderrLines(r.stderr);
    expect(l.at(-1)).toMatch(/^lowbit: error: --resume: '.*ptq-state\.json': snapshot field 'step' must be an integer from 0 to \d+ \(iterations per unit\), got 100000; delete it to start over \[E_RESUME\]$/);
    expect(readdirSync(out)).toEqual(['ptq-state.json']);
  }, 300_000);
});

describe('ptq interrupted outside reconstruction', () => {
  it('Ctrl-C during synchronous work (evaluating, rtn, bias correction) ends the process at once and writes no model', async () => {
    // before: a JavaScript handler that only ran once the work was done, so rtn went on to exit 0 with a model written
    const out = join(root, 'sync');
    const child = spawn(process.execPath, [bin, 'ptq', '--method', 'rtn', '--wbits', '3', '--abits', '8', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stdout!.resume();
    child.stderr!.on('data', (d) => {
      stderr += String(d);
      // loaded; from here on the float evaluation, rtn and the bias correction run without a break
      if (/^model /m.test(stderr) && child.exitCode === null && !child.killed) child.kill('SIGINT');
    });
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
    expect(child.killed, stderr).toBe(true);
    expect([code, signal], stderr).toEqual([null, 'SIGINT']);
    expect(existsSync(join(out, 'model.json'))).toBe(false);
    expect(existsSync(join(out, 'report.json'))).toBe(false);
  }, 300_000);
});

describe('mpq search interrupted', () => {
  it('Ctrl-C during the search exits 130 at once with a line, and writes no policy', async () => {
    const out = join(root, 'search');
    const child = spawn(process.execPath, [bin, 'mpq', 'search', '--model', 'resnet-fm', '--avg-bits', '3', '--score-images', '64', '--bn-images', '32', '--validate-images', '0', '--test-limit', '100', '--no-plot', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let sentAt = -1;
    child.stdout!.resume();
    child.stderr!.on('data', (d) => {
      stderr += String(d);
      // the search is under way: its first move is printed
      if (sentAt < 0 && /step +1 phase/.test(stderr)) {
        sentAt = stderr.length;
        child.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(sentAt, stderr).toBeGreaterThan(0);
    expect(code).toBe(130);
    // it stops within the current evaluation: no further move of the search is printed (before the fix, all of them were)
    expect(stderr.slice(sentAt).match(/step +\d+ phase/g) ?? []).toHaveLength(0);
    expect(stderrLines(stderr).at(-1)).toMatch(/lowbit: interrupted \(Ctrl-C\)/);
    expect(existsSync(join(out, 'policy.json'))).toBe(false);
  }, 300_000);
});
