/**
 * How long the edge keeps an origin response, CloudFront-style: the origin's Cache-Control max-age / s-maxage or
 * Expires clamped to the cache policy's [minTtl, maxTtl]; the policy's defaultTtl when the origin says nothing;
 * `no-store` / `no-cache` / `private` count as 0 (so they are cached only when minTtl > 0).
 * Error responses follow CloudFront's error caching (docs/edge.md, "Custom error responses and error caching").
 */
import CachePolicy from 'http-cache-semantics';
import type { CachePolicyConfig } from '../../config/types.js';

/** Statuses CloudFront caches under the cache policy's TTLs. */
const CACHEABLE_STATUSES = new Set([200, 203, 300, 301, 410]);
/** Error statuses CloudFront always caches: for the error-caching minimum TTL, or longer if the origin says so. */
const ERROR_STATUSES_ALWAYS = new Set([404, 414, 500, 501, 502, 503, 504]);
/** Error statuses CloudFront caches only when the origin sends Cache-Control max-age or s-maxage. */
const ERROR_STATUSES_WITH_MAX_AGE = new Set([400, 403, 405, 412, 415]);
/** CloudFront's default ErrorCachingMinTTL. */
export const ERROR_CACHING_TTL_SECONDS = 10;

const HEURISTIC_OFF = { shared: true, cacheHeuristic: 0, immutableMinTimeToLive: 0 } as const;

/**
 * Seconds to keep the response; 0 means do not store it. `headers` are the origin's, names lowercase.
 * `errorCachingMinTtl` is the distribution's ErrorCachingMinTTL for this status (CloudFront's default: 10 s).
 * An error is kept max(errorCachingMinTtl, the origin's lifetime capped at maxTtl); 416 is never kept.
 */
export function responseTtlSeconds(
  policy: CachePolicyConfig,
  status: number,
  headers: CachePolicy.Headers,
  errorCachingMinTtl = ERROR_CACHING_TTL_SECONDS,
): number {
  const always = ERROR_STATUSES_ALWAYS.has(status);
  if (always || ERROR_STATUSES_WITH_MAX_AGE.has(status)) {
    const maxAge = /(^|[\s,])(s-maxage|max-age)\s*=/i.test(headerText(headers['cache-control']));
    if (!always && !maxAge) return 0;
    const originTtl = maxAge ? originFreshness(status, { ...headers, 'cache-control': stripNoStore(headerText(headers['cache-control'])) }) : undefined;
    return Math.max(errorCachingMinTtl, Math.min(originTtl ?? 0, policy.maxTtl));
  }
  if (!CACHEABLE_STATUSES.has(status)) return 0;
  const originTtl = originFreshness(status, headers);
  if (originTtl === undefined) return policy.defaultTtl;
  return Math.min(Math.max(originTtl, policy.minTtl), policy.maxTtl);
}

/** For an error only max-age / s-maxage count (CloudFront's rule): no-store and friends do not cancel them. */
function stripNoStore(cc: string): string {
  return cc
    .split(',')
    .filter((d) => !/^\s*(no-store|no-cache|private)\b/i.test(d))
    .join(',');
}

/** The origin's own freshness lifetime in whole seconds, or undefined when it sent no freshness information. */
function originFreshness(status: number, headers: CachePolicy.Headers): number | undefined {
  const cc = headerText(headers['cache-control']).toLowerCase();
  if (/(^|[\s,])(no-store|no-cache|private)([\s,=]|$)/.test(cc)) return 0;
  const explicit = /(^|[\s,])(s-maxage|max-age)\s*=/.test(cc) || headers['expires'] !== undefined;
  if (!explicit) return undefined;
  const policy = new CachePolicy({ method: 'GET', url: '/', headers: {} }, { status: CACHEABLE_STATUSES.has(status) ? status : 200, headers }, HEURISTIC_OFF);
  // timeToLive() counts the microseconds since the policy was built as age: round, or max-age=300 reads 299.
  return policy.storable() ? Math.max(0, Math.round(policy.timeToLive() / 1000)) : 0;
}

function headerText(value: string | string[] | undefined): string {
  if (value === undefined) return '';
  return Array.isArray(value) ? value.join(',') : value;
}
