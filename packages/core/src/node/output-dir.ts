import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmdirSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { LowbitError } from '../errors.js';

/** Pseudo file systems where no output belongs (a write there hangs or means something else). */
const FORBIDDEN = ['/proc', '/sys', '/dev'];

export interface OutputDirOptions {
  /** How the directory is named in errors (default `--out`). */
  label?: string;
  /** Inputs: files (model.json; writing into the folder of one is refused) and folders (images; writing into or inside one is refused), unless `force`. */
  inputs?: readonly string[];
  /** Allow writing into an input's folder (files there may be replaced). */
  force?: boolean;
  /** Bytes the outputs will take about: refused when the file system has less free (with 10% to spare). */
  expectedBytes?: number;
}

const real = (p: string): string => {
  try {
    return realpathSync(p);
  } catch {
    return resolve(p);
  }
};

/** Whether two path arguments name the same file or folder (equal, or the same once links and relative parts are resolved). */
export function samePath(a: string, b: string): boolean {
  return a === b || real(a) === real(b);
}

/**
 * Checks and creates an output directory before any work, so that a long run cannot fail at the
 * end for want of a place to write: not empty, not under /proc, /sys or /dev, not an existing file,
 * creatable and writable (a probe file is written and removed), enough free space for
 * `expectedBytes`, and not the folder of an input model, nor an input folder (images, a dataset) or
 * inside one, unless `force`. Every refusal is a
 * `LowbitError` (`E_OUT`) naming the directory and the reason. Returns the absolute path and
 * whether it was created here (then {@link removeIfUnused} takes it away again after a failure).
 */
export function prepareOutputDir(dir: string, o: OutputDirOptions = {}): PreparedOutputDir {
  const label = o.label ?? '--out';
  if (typeof dir !== 'string' || dir.trim() === '') throw new LowbitError('E_OUT', `${label} is empty: give the directory to write to`);
  const abs = resolve(dir);
  const under = FORBIDDEN.find((f) => abs === f || abs.startsWith(f + sep) || real(abs).startsWith(f + sep));
  if (under) throw new LowbitError('E_OUT', `${label} ${dir}: is under ${under}, a system pseudo file system; choose a directory on disk`);
  if (existsSync(abs) && !statSync(abs).isDirectory()) throw new LowbitError('E_OUT', `${label} ${dir}: is an existing file, not a directory`);
  // a name like 'x/model.json' is meant as a file: the outputs would go to x/model.json/model.json
  if (!existsSync(abs) && /\.json$/i.test(abs)) throw new LowbitError('E_OUT', `${label} ${dir}: names a .json file; ${label} is a directory (model.json and the other outputs are written inside it)`);
  for (const input of o.inputs ?? []) {
    if (!input || !existsSync(input) || o.force) continue;
    // a file input (model.json): its folder; a folder input (images, a dataset): the folder itself and anything inside it,
    // where the outputs would be read back as data by the next run
    if (statSync(input).isDirectory()) {
      const folder = real(input);
      const target = real(abs);
      if (target === folder || target.startsWith(folder + sep)) {
        throw new LowbitError('E_OUT', `${label} ${dir}: is ${target === folder ? 'the input folder' : 'inside the input folder'} ${input}; the outputs would be mixed with its files. Choose another ${label}, or pass --force`);
      }
    } else if (real(dirname(input)) === real(abs)) {
      throw new LowbitError('E_OUT', `${label} ${dir}: is the folder of the input ${input}; writing there would replace its files. Choose another ${label}, or pass --force`);
    }
  }
  const link = linkTarget(abs);
  if (link !== null && !existsSync(abs)) throw new LowbitError('E_OUT', `${label} ${dir}: is a link to '${link}', which does not exist (a broken link); create the folder it points to, or choose another ${label}`);
  // a model.json the user keeps there (not an output of lowbit) is not replaced without --force
  const theirs = join(abs, 'model.json');
  if (!o.force && existsSync(theirs) && !writtenByLowbit(theirs)) {
    throw new LowbitError('E_OUT', `${label} ${dir}: holds a model.json that lowbit did not write; the outputs would replace it. Choose another ${label}, or pass --force`);
  }
  const created = !existsSync(abs);
  try {
    mkdirSync(abs, { recursive: true });
  } catch (e) {
    throw new LowbitError('E_OUT', `${label} ${dir}: cannot create it (${realMkdirError(abs, e as NodeJS.ErrnoException)})`);
  }
  removeStaleTemps(abs);
  // a refusal after the directory was made here takes it away again
  try {
    const probe = join(abs, `.lowbit-write-probe.${process.pid}.${randomBytes(4).toString('hex')}`);
    try {
      writeFileSync(probe, 'x');
    } catch (e) {
      throw new LowbitError('E_OUT', `${label} ${dir}: is not writable (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    } finally {
      rmSync(probe, { force: true });
    }
    if (o.expectedBytes && o.expectedBytes > 0) {
      const fs = statfsSync(abs);
      const free = fs.bavail * fs.bsize;
      if (free < o.expectedBytes * 1.1) {
        const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MB`;
        throw new LowbitError('E_OUT', `${label} ${dir}: the outputs need about ${mb(o.expectedBytes)}, the file system has ${mb(free)} free`);
      }
    }
  } catch (e) {
    removeIfUnused({ path: abs, created });
    throw e;
  }
  return { path: abs, created };
}

/** Where a symbolic link points, or null when `p` is not a link. */
function linkTarget(p: string): string | null {
  try {
    return lstatSync(p).isSymbolicLink() ? readlinkSync(p) : null;
  } catch {
    return null;
  }
}

/** Whether a model.json is lowbit's: a lowbit network (a ptq or train output) or an export lowbit generated. */
function writtenByLowbit(path: string): boolean {
  try {
    const j = JSON.parse(readFileSync(path, 'utf8')) as { format?: unknown; generatedBy?: unknown } | null;
    return j !== null && typeof j === 'object' && (j.generatedBy === 'lowbit' || j.format === 'lowbit-network');
  } catch {
    return false;
  }
}

/**
 * The real reason a recursive mkdir failed: Node reports ENOENT for every failure below the first
 * missing folder (a read-only file system, a permission), so the first missing folder is made
 * alone to get its own error code.
 */
function realMkdirError(abs: string, e: NodeJS.ErrnoException): string {
  if (e.code !== 'ENOENT') return e.code ?? e.message;
  let first = abs;
  while (!existsSync(dirname(first)) && dirname(first) !== first) first = dirname(first);
  try {
    mkdirSync(first);
    rmdirSync(first);
  } catch (inner) {
    return (inner as NodeJS.ErrnoException).code ?? e.code;
  }
  return e.code;
}

export interface PreparedOutputDir {
  path: string;
  /** The directory did not exist before {@link prepareOutputDir}. */
  created: boolean;
}

/** After a failed run: removes the output directory again if this run created it and left it empty. */
export function removeIfUnused(d: PreparedOutputDir): void {
  try {
    if (d.created && readdirSync(d.path).length === 0) rmdirSync(d.path);
  } catch {
    // already gone, or not ours to remove
  }
}

/** Whether a process with this id is running (a temp file's writer). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temporary files a killed lowbit process left in `dir` (`.<name>.<pid>.<hex>.tmp`
 * of `atomicWriteFile`, write probes) whose writer is no longer running: a SIGKILL during a
 * checkpoint write leaves one behind, and the next run in the directory takes it away. Returns
 * the names removed.
 */
export function removeStaleTemps(dir: string): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    const m = /^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$/.exec(name) ?? /^\.lowbit-write-probe\.(\d+)\.[0-9a-f]{8}$/.exec(name);
    if (!m || alive(Number(m[1]))) continue;
    rmSync(join(dir, name), { force: true });
    removed.push(name);
  }
  return removed;
}
