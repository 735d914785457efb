/**
 * Partial matching of a function's result against a golden expectation, collecting every difference (not just the
 * first) so one run shows everything that is off.
 *
 * Rules: every field in `expected` must be in `actual` with the same value; fields only in `actual` are fine;
 * `null` expects the field to be absent; an empty object `{}` or an array expects exactly that (arrays compare
 * element by element and by length). Ignored paths are skipped wherever they point.
 */
import { openFrontError } from '../../errors.js';

/** One place where the result differs from the expectation. `actual` is undefined when the field is absent. */
export interface Difference {
  /** `response.headers.location.value` */
  path: string;
  expected: unknown;
  actual: unknown;
}

/**
 * A parsed ignore path: `response.headers.date`, `request.querystring.*` (any one key), `logs[0]`,
 * `request.cookies["a.b"]` (a key containing a dot).
 */
export type IgnorePath = readonly string[];

export function parseIgnorePath(path: string): IgnorePath {
  const segments: string[] = [];
  const re = /\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]|\.?([^.[\]]+)/gy;
  let read = 0;
  while (read < path.length) {
    re.lastIndex = read;
    const match = re.exec(path);
    if (match === null) throw openFrontError('TEST_CASE_INVALID', `ignore path "${path}" cannot be read at character ${read + 1}`);
    segments.push(match[1] ?? (match[2] !== undefined ? (JSON.parse(`"${match[2]}"`) as string) : (match[3] as string)));
    read = re.lastIndex;
  }
  if (segments.length === 0) throw openFrontError('TEST_CASE_INVALID', 'an ignore path cannot be empty');
  return segments;
}

/** Differences between `actual` and the partial `expected`, skipping `ignore` paths. [] when they match. */
export function findDifferences(actual: unknown, expected: unknown, ignore: readonly IgnorePath[] = [], path: string[] = []): Difference[] {
  if (ignore.some((p) => covers(p, path))) return [];
  const here = formatPath(path);
  if (expected === null) return actual === undefined || actual === null ? [] : [{ path: here, expected: null, actual }];
  if (typeof expected !== 'object') return Object.is(actual, expected) ? [] : [{ path: here, expected, actual }];
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return [{ path: here, expected, actual }];
    const out: Difference[] = [];
    for (let i = 0; i < Math.max(expected.length, actual.length); i++) {
      const at = [...path, String(i)];
      if (i >= expected.length) {
        if (!ignore.some((p) => covers(p, at))) out.push({ path: formatPath(at), expected: undefined, actual: actual[i] });
      } else {
        out.push(...findDifferences(actual[i], expected[i], ignore, at));
      }
    }
    return out;
  }
  if (typeof actual !== 'object' || actual === null || Array.isArray(actual)) return [{ path: here, expected, actual }];
  const actualRecord = actual as Record<string, unknown>;
  const keys = Object.keys(expected);
  if (keys.length === 0) {
    const extra = Object.keys(actualRecord).filter((k) => !ignore.some((p) => covers(p, [...path, k])));
    return extra.length === 0 ? [] : [{ path: here, expected: {}, actual: pick(actualRecord, extra) }];
  }
  const out: Difference[] = [];
  for (const key of keys) {
    const value = Object.prototype.hasOwnProperty.call(actualRecord, key) ? actualRecord[key] : undefined;
    out.push(...findDifferences(value, (expected as Record<string, unknown>)[key], ignore, [...path, key]));
  }
  return out;
}

function covers(ignorePath: IgnorePath, path: readonly string[]): boolean {
  if (ignorePath.length > path.length) return false;
  return ignorePath.every((segment, i) => segment === '*' || segment === path[i]);
}

/** `response.headers.x-frame-options.value`, `logs[0]`, `request.cookies["a.b"]`. */
export function formatPath(path: readonly string[]): string {
  let out = '';
  for (const segment of path) {
    if (/^\d+$/.test(segment)) out += `[${segment}]`;
    else if (/^[^.[\]"\s]+$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out === '' ? '(result)' : out;
}

function pick(record: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = record[k];
  return out;
}
