import { LowbitError } from './errors.js';

/**
 * Parses the text of a JSON file named `source` (a path or URL, for messages). A UTF-8 byte-order
 * mark, which some editors write and `JSON.parse` rejects, is skipped. Malformed text is a
 * LowbitError with `code` (default E_FORMAT): `<source>: not valid JSON (<parser message>)`.
 */
export function parseJsonText(text: string, source: string, code = 'E_FORMAT'): unknown {
  try {
    return JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (e) {
    throw new LowbitError(code, `${source}: not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
}
