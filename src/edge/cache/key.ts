/**
 * The cache key of a request under a cache policy: distribution, path (after the viewer-request function's
 * rewrite), and the query-string parameters, headers and cookies the policy selects.
 *
 * As in CloudFront, query parameters keep the order in which they appear (`?a=1&b=2` and `?b=2&a=1` are two
 * objects — why the normalize-query-string sample exists), names and values are case-sensitive, and cookies are
 * sorted by name.
 */
import type { CacheKeyItems, CachePolicyConfig } from '../../config/types.js';

export interface CacheKey {
  /** The full key (opaque; used as the map key). */
  key: string;
  /** Path plus selected query string: what invalidation paths are matched against. */
  objectPath: string;
}

export function buildCacheKey(distributionId: string, target: string, headers: ReadonlyArray<readonly [string, string]>, policy: CachePolicyConfig): CacheKey {
  const q = target.indexOf('?');
  const path = q === -1 ? target : target.slice(0, q);
  const query = q === -1 ? '' : selectQuery(target.slice(q + 1), policy.queryStrings);
  const objectPath = query === '' ? path : `${path}?${query}`;
  let key = `${distributionId}\n${objectPath}`;
  if (policy.headers.behavior !== 'none') key += `\nh:${selectHeaders(headers, policy.headers)}`;
  if (policy.cookies.behavior !== 'none') key += `\nc:${selectCookies(headers, policy.cookies)}`;
  return { key, objectPath };
}

function selected(items: CacheKeyItems, name: string): boolean {
  switch (items.behavior) {
    case 'all':
      return true;
    case 'none':
      return false;
    case 'whitelist':
      return items.names.includes(name);
    case 'allExcept':
      return !items.names.includes(name);
  }
}

function selectQuery(query: string, items: CacheKeyItems): string {
  if (items.behavior === 'none' || query === '') return '';
  if (items.behavior === 'all') return query;
  let out = '';
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (selected(items, eq === -1 ? part : part.slice(0, eq))) out += out === '' ? part : `&${part}`;
  }
  return out;
}

function selectHeaders(headers: ReadonlyArray<readonly [string, string]>, items: CacheKeyItems): string {
  // Cache policies only whitelist headers; walking the policy's names keeps the key independent of header order.
  let out = '';
  for (const name of items.names) {
    let value: string | undefined;
    for (const [n, v] of headers) {
      if (n.length === name.length && n.toLowerCase() === name) value = value === undefined ? v : `${value},${v}`;
    }
    if (value !== undefined) out += `${name}=${value}\n`;
  }
  return out;
}

function selectCookies(headers: ReadonlyArray<readonly [string, string]>, items: CacheKeyItems): string {
  const pairs: Array<[string, string]> = [];
  for (const [n, v] of headers) {
    if (n.length !== 6 || n.toLowerCase() !== 'cookie') continue;
    for (const part of v.split(';')) {
      const trimmed = part.trim();
      if (trimmed === '') continue;
      const eq = trimmed.indexOf('=');
      const name = eq === -1 ? trimmed : trimmed.slice(0, eq);
      if (selected(items, name)) pairs.push([name, eq === -1 ? '' : trimmed.slice(eq + 1)]);
    }
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  let out = '';
  for (const [name, value] of pairs) out += `${name}=${value};`;
  return out;
}
