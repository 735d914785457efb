/**
 * Conditional requests answered from a cached copy (docs/edge.md, "Conditional requests"): `If-None-Match` (weak
 * comparison, `*`), else `If-Modified-Since` against the copy's Last-Modified, give a 304; `If-Range` decides
 * whether a Range applies (strong ETag comparison or the exact Last-Modified date).
 */

/** Headers a 304 repeats from the stored response (RFC 9110 §15.4.5); the body's headers are left out. */
const NOT_MODIFIED_HEADERS = new Set(['etag', 'cache-control', 'expires', 'last-modified', 'vary', 'content-location', 'date']);

export function headerValue(headers: ReadonlyArray<readonly [string, string]>, name: string): string | undefined {
  let found: string | undefined;
  for (const [n, v] of headers) {
    if (n.length === name.length && n.toLowerCase() === name) found = found === undefined ? v : `${found}, ${v}`;
  }
  return found;
}

function opaqueTag(tag: string): string {
  const t = tag.trim();
  return t.startsWith('W/') ? t.slice(2) : t;
}

/** Whether the viewer's copy is current: a 304 instead of the body. */
export function isNotModified(request: ReadonlyArray<readonly [string, string]>, stored: ReadonlyArray<readonly [string, string]>): boolean {
  const inm = headerValue(request, 'if-none-match');
  if (inm !== undefined) {
    if (inm.trim() === '*') return true;
    const etag = headerValue(stored, 'etag');
    if (etag === undefined) return false;
    const mine = opaqueTag(etag);
    // A list bounded by the request's header size; each entry compared once.
    return inm.split(',').some((tag) => opaqueTag(tag) === mine);
  }
  const ims = headerValue(request, 'if-modified-since');
  if (ims === undefined) return false;
  const since = Date.parse(ims);
  const modified = Date.parse(headerValue(stored, 'last-modified') ?? '');
  return Number.isFinite(since) && Number.isFinite(modified) && modified <= since;
}

/** Whether a Range applies: no If-Range, or one that names the stored copy exactly. */
export function ifRangeMatches(request: ReadonlyArray<readonly [string, string]>, stored: ReadonlyArray<readonly [string, string]>): boolean {
  const ifRange = headerValue(request, 'if-range');
  if (ifRange === undefined) return true;
  const value = ifRange.trim();
  if (value.startsWith('"') || value.startsWith('W/')) {
    const etag = headerValue(stored, 'etag');
    return !value.startsWith('W/') && etag !== undefined && !etag.trim().startsWith('W/') && etag.trim() === value;
  }
  const lastModified = headerValue(stored, 'last-modified');
  return lastModified !== undefined && Date.parse(lastModified) === Date.parse(value) && Number.isFinite(Date.parse(value));
}

export function notModifiedHeaders(stored: ReadonlyArray<[string, string]>): Array<[string, string]> {
  return stored.filter(([name]) => NOT_MODIFIED_HEADERS.has(name.toLowerCase()));
}
