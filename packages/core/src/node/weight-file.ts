import { readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { LowbitError } from '../errors.js';

/** How errors name a weight file: the model file, the name and the manifest field. */
const whereOf = (modelPath: string, name: string, field: string) => `${modelPath}: weight file '${name}' (${field})`;

/**
 * Reads a weight file named in a model.json, relative to its folder (the name already checked by
 * `confinedPath`), after checking what the name leads to: a regular file (not a device such as
 * /dev/zero, a FIFO or a directory, which would be read without end or fail oddly), inside the
 * model's folder also once links are followed, and — with `expectedBytes` — of that size before
 * a byte is read (`checkedSize`: the size a caller's own {@link weightFileSize} call returned, so
 * the checks are not repeated). Errors name the model file and the field: `E_NOT_FOUND` for a missing file,
 * `E_WEIGHTS` otherwise.
 */
export function readWeightFile(modelPath: string, name: string, field: string, o: { expectedBytes?: number; checkedSize?: number } = {}): Uint8Array {
  // `checkedSize`: the caller has run weightFileSize on this file already (e.g. to total a group's shards)
  const size = o.checkedSize ?? weightFileSize(modelPath, name, field);
  const where = whereOf(modelPath, name, field);
  if (o.expectedBytes !== undefined && size !== o.expectedBytes) throw new LowbitError('E_WEIGHTS', `${where} has ${size} bytes, the manifest needs ${o.expectedBytes}`);
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(join(dirname(modelPath), name)));
  } catch (e) {
    throw new LowbitError('E_WEIGHTS', `${where} cannot be read: ${(e as Error).message}`);
  }
  if (bytes.length !== size) throw new LowbitError('E_WEIGHTS', `${where} changed while it was read (${size} bytes, then ${bytes.length})`);
  return bytes;
}

/** The size in bytes of a weight file of a model.json, with the checks of {@link readWeightFile}, without reading it. */
export function weightFileSize(modelPath: string, name: string, field: string): number {
  const file = join(dirname(modelPath), name);
  const where = whereOf(modelPath, name, field);
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(file);
  } catch (e) {
    throw new LowbitError('E_NOT_FOUND', `${where} cannot be read: ${(e as Error).message}`);
  }
  if (!st.isFile()) throw new LowbitError('E_WEIGHTS', `${where} is not a regular file (${st.isDirectory() ? 'a directory' : 'a device, pipe or socket'})`);
  const real = realpathSync(file);
  if (!real.startsWith(realpathSync(dirname(modelPath)) + sep)) throw new LowbitError('E_WEIGHTS', `${where} is a link to '${real}', outside the model's folder; weight files must be inside it`);
  return st.size;
}
