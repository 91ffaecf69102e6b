import type { z } from 'zod';
import { LowbitError } from './errors.js';

/** `network.nodes[3].epsilon` for the path `['network', 'nodes', 3, 'epsilon']`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : `${s ? '.' : ''}${String(p)}`;
  return s || '(the whole file)';
}

/** A short rendering of a bad value for an error message. */
function shown(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  let s: string;
  try {
    s = JSON.stringify(v);
  } catch {
    // nested too deeply to render (a hostile file): say what it is
    s = Array.isArray(v) ? `a list of ${v.length} (nested too deeply to show)` : 'an object (nested too deeply to show)';
  }
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

const ARTICLE: Record<string, string> = { int: 'an integer', object: 'an object', array: 'a list', string: 'a string', number: 'a number', boolean: 'true or false', null: 'null' };

/** What the value at an issue's path should have been, in words. */
function expectation(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return `must be ${ARTICLE[issue.expected] ?? issue.expected}`;
    case 'too_small': {
      if (issue.origin === 'array') return `must have at least ${String(issue.minimum)} entr${Number(issue.minimum) === 1 ? 'y' : 'ies'}`;
      if (issue.origin === 'string') return 'must not be empty';
      return `must be ${issue.inclusive ? '>=' : '>'} ${String(issue.minimum)}`;
    }
    case 'too_big': {
      if (issue.origin === 'array') return `must have at most ${String(issue.maximum)} entries`;
      return `must be ${issue.inclusive ? '<=' : '<'} ${String(issue.maximum)}`;
    }
    case 'invalid_value':
      return `must be ${issue.values.length === 1 ? shown(issue.values[0]) : `one of ${issue.values.map(shown).join(', ')}`}`;
    case 'invalid_union': {
      const u = issue as z.core.$ZodIssueInvalidUnion & { options?: unknown[]; discriminator?: string };
      if (u.discriminator && u.options) return `must be one of ${u.options.map(shown).join(', ')}`;
      // a schema's own words (`z.union([...], { error })`) when it has them
      return issue.message && issue.message !== 'Invalid input' ? issue.message : 'matches none of the allowed forms';
    }
    default:
      return issue.message;
  }
}

export interface SchemaCheckOptions {
  /** Error code of the LowbitError (default `E_FORMAT`). */
  code?: string;
  /** Extra words naming where a path is, e.g. the node's name for `network.nodes[3]` ("node 'bn1'"). */
  where?: (path: readonly PropertyKey[], value: unknown) => string | undefined;
}

/**
 * Checks `value` against a zod schema and returns the parsed value, or throws one LowbitError
 * naming the file, the field, what it must be and what it is (the first problem; the count of
 * the others): `model.json: field 'network.nodes[3].epsilon' (node 'bn1') must be > 0, got -1`.
 */
export function checkSchema<S extends z.ZodType>(schema: S, value: unknown, source: string, o: SchemaCheckOptions = {}): z.output<S> {
  const r = schema.safeParse(value, { reportInput: true });
  if (r.success) return r.data;
  const issues = r.error.issues;
  const first = issues[0]!;
  // a discriminator issue reports its path at the object; name the discriminating field itself
  const u = first as { discriminator?: string; input?: unknown };
  const path = [...first.path];
  let input = (first as { input?: unknown }).input;
  if (first.code === 'invalid_union' && u.discriminator && path[path.length - 1] !== u.discriminator) {
    path.push(u.discriminator);
    input = (u.input as Record<string, unknown> | undefined)?.[u.discriminator];
  } else if (first.code === 'invalid_union' && u.discriminator && input && typeof input === 'object') {
    input = (input as Record<string, unknown>)[u.discriminator];
  }
  const where = o.where?.(path, value);
  const got = first.code === 'invalid_type' && input === undefined ? 'it is missing' : `got ${shown(input)}`;
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
  // the whole value (a model.json that is null, a list…): "expected an object, got null"
  const subject = path.length === 0 ? 'expected' : `field '${fieldPath(path)}'${where ? ` (${where})` : ''}`;
  const expected = path.length === 0 ? expectation(first).replace(/^must be /, '') : expectation(first);
  throw new LowbitError(o.code ?? 'E_FORMAT', `${source}: ${subject} ${expected}, ${got}${more}`, { field: fieldPath(path) });
}
