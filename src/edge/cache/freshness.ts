/**
 * How long the edge keeps an origin response, CloudFront-style: the origin's Cache-Control max-age / s-maxage or
 * Expires clamped to the cache policy's [minTtl, maxTtl]; the policy's defaultTtl when the origin says nothing;
 * `no-store` / `no-cache` / `private` count as 0 (so they are cached only when minTtl > 0).
 * Error responses CloudFront caches (404, 500, …) are kept 10 s unless the origin says otherwise.
 */
import CachePolicy from 'http-cache-semantics';
import type { CachePolicyConfig } from '../../config/types.js';

/** Statuses CloudFront caches under the cache policy's TTLs. */
const CACHEABLE_STATUSES = new Set([200, 203, 300, 301, 410]);
/** Error statuses CloudFront caches for the error-caching minimum TTL. */
const ERROR_STATUSES = new Set([400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504]);
/** CloudFront's default ErrorCachingMinTTL. */
export const ERROR_CACHING_TTL_SECONDS = 10;

const HEURISTIC_OFF = { shared: true, cacheHeuristic: 0, immutableMinTimeToLive: 0 } as const;

/** Seconds to keep the response; 0 means do not store it. `headers` are the origin's, names lowercase. */
export function responseTtlSeconds(policy: CachePolicyConfig, status: number, headers: CachePolicy.Headers): number {
  const isError = ERROR_STATUSES.has(status);
  if (!CACHEABLE_STATUSES.has(status) && !isError) return 0;
  const originTtl = originFreshness(status, headers);
  if (isError) return Math.min(originTtl ?? ERROR_CACHING_TTL_SECONDS, policy.maxTtl);
  if (originTtl === undefined) return policy.defaultTtl;
  return Math.min(Math.max(originTtl, policy.minTtl), policy.maxTtl);
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
