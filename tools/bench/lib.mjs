// Shared helpers of the benchmark scripts: option parsing, atomic writes, generated doc sections.
import { spawn } from 'node:child_process';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';

/** Runs `node <args>` (e.g. the lowbit CLI) and resolves with its exit code and whole stdout and stderr. */
export function runNode(args, o = {}) {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(o.cwd ? { cwd: o.cwd } : {}) });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => {
      stdout += d;
    });
    p.stderr.on('data', (d) => {
      stderr += d;
    });
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The value after `--name` in `args`, or `fallback`. */
export function option(args, name, fallback) {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
}

/** Writes `text` to a temp file beside `path`, then renames it over `path`. */
export function writeAtomic(path, text) {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

/** A results file: JSON, one-space indent, trailing newline, written atomically. */
export function writeJson(path, value) {
  writeAtomic(path, `${JSON.stringify(value, null, 1)}\n`);
}

/**
 * Replaces what stands between the `start` and `end` markers of the markdown file `path` with
 * `body`. Without the markers: appends them under `## heading` when a heading is given, else throws.
 */
export function replaceSection(path, start, end, body, heading) {
  const doc = readFileSync(path, 'utf8');
  const a = doc.indexOf(start);
  const b = doc.indexOf(end);
  let out;
  if (a >= 0 && b >= 0) out = `${doc.slice(0, a + start.length)}\n${body}\n${doc.slice(b)}`;
  else if (heading) out = `${doc.trimEnd()}\n\n## ${heading}\n\n${start}\n${body}\n${end}\n`;
  else throw new Error(`${path}: missing the generated-section markers ${start} … ${end}`);
  writeAtomic(path, out);
}
