/**
 * What the edge would decide for one replayed request, reduced to what a dry run compares (docs/safe-changes.md,
 * "Dry-run against recorded traffic"): the status the viewer would get (or "origin" when the request goes on to
 * the origin), a redirect's Location, the forwarded URI, the origin, the cache key, the headers the functions set,
 * a generated body's digest, and the error of a failing function.
 */

/** The kinds of change a dry run counts; one request may change in several. */
export const CHANGE_KINDS = ['status', 'location', 'uri', 'origin', 'cacheKey', 'headers', 'body', 'error'] as const;
export type ChangeKind = (typeof CHANGE_KINDS)[number];

export interface ReplayDecision {
  /** Who answers: a function's generated response, the origin (through cache), or an edge error. */
  outcome: 'response' | 'origin' | 'error';
  /** Status the viewer gets: a generated one, an error's, or one a viewer-response function set; absent: the origin's. */
  status?: number;
  /** The Location header of a generated or shaped response. */
  location?: string;
  /** Path and query string forwarded to the cache and the origin (outcome "origin"). */
  uri?: string;
  /** The origin the request would go to: id, and for a custom origin what a function changed of it. */
  origin?: string;
  /** The cache key (absent when the behavior does not cache, or the method is not cached). */
  cacheKey?: string;
  /** Response headers a function produced (generated response, or after viewer-response), Location excepted. */
  responseHeaders?: Record<string, string>;
  /** Request headers (cookies included) forwarded to the origin, when a function changed them. */
  requestHeaders?: Record<string, string>;
  /** sha256 (hex, 16 chars) of a generated body. */
  body?: string;
  /** The edge error type (x-openfront-error) and the function's message. */
  error?: string;
}

/** The kinds in which `after` differs from `before` (empty: the same decision). */
export function changedKinds(before: ReplayDecision, after: ReplayDecision): ChangeKind[] {
  const kinds: ChangeKind[] = [];
  if (before.outcome !== after.outcome || before.status !== after.status) kinds.push('status');
  if (before.location !== after.location) kinds.push('location');
  if (before.uri !== after.uri) kinds.push('uri');
  if (before.origin !== after.origin) kinds.push('origin');
  if (before.cacheKey !== after.cacheKey) kinds.push('cacheKey');
  if (!sameRecord(before.responseHeaders, after.responseHeaders) || !sameRecord(before.requestHeaders, after.requestHeaders)) kinds.push('headers');
  if (before.body !== after.body) kinds.push('body');
  if (errorType(before.error) !== errorType(after.error)) kinds.push('error');
  return kinds;
}

/** "FunctionExecutionError: message" → "FunctionExecutionError": messages may carry run-dependent detail. */
function errorType(error: string | undefined): string | undefined {
  if (error === undefined) return undefined;
  const colon = error.indexOf(':');
  return colon === -1 ? error : error.slice(0, colon);
}

function sameRecord(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const key of keys) if (a[key] !== b[key]) return false;
  return true;
}
