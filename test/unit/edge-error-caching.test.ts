/** CloudFront's error caching (docs/edge.md, "Custom error responses and error caching"): which errors, how long. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CachePolicyConfig } from '../../src/config/types.js';
import { ERROR_CACHING_TTL_SECONDS, responseTtlSeconds } from '../../src/edge/cache/freshness.js';

const none = { behavior: 'none' as const, names: [] };
const policy: CachePolicyConfig = { name: 'p', minTtl: 1, defaultTtl: 100, maxTtl: 1000, headers: none, cookies: none, queryStrings: none };
const date = new Date().toUTCString();

describe('error caching', () => {
  it('always caches 404, 414, 500, 501, 502, 503, 504 for ErrorCachingMinTTL (10 s by default)', () => {
    for (const status of [404, 414, 500, 501, 502, 503, 504]) {
      assert.equal(responseTtlSeconds(policy, status, { date }), ERROR_CACHING_TTL_SECONDS, String(status));
      assert.equal(responseTtlSeconds(policy, status, { date }, 120), 120, String(status));
      assert.equal(responseTtlSeconds(policy, status, { date }, 0), 0, String(status));
    }
  });

  it("keeps an error for the origin's max-age when that is longer, capped at the behavior's maxTtl", () => {
    assert.equal(responseTtlSeconds(policy, 404, { date, 'cache-control': 'max-age=60' }), 60);
    assert.equal(responseTtlSeconds(policy, 404, { date, 'cache-control': 's-maxage=70, max-age=5' }), 70);
    assert.equal(responseTtlSeconds(policy, 404, { date, 'cache-control': 'max-age=5' }), ERROR_CACHING_TTL_SECONDS);
    assert.equal(responseTtlSeconds(policy, 500, { date, 'cache-control': 'max-age=99999' }), 1000);
    assert.equal(responseTtlSeconds(policy, 404, { date, 'cache-control': 'max-age=60' }, 300), 300);
  });

  it('ignores other directives on an error: no-store leaves ErrorCachingMinTTL', () => {
    assert.equal(responseTtlSeconds(policy, 503, { date, 'cache-control': 'no-store' }), ERROR_CACHING_TTL_SECONDS);
    assert.equal(responseTtlSeconds(policy, 503, { date, 'cache-control': 'no-cache, max-age=40' }), 40);
  });

  it('caches 400, 403, 405, 412 and 415 only when the origin sends max-age or s-maxage', () => {
    for (const status of [400, 403, 405, 412, 415]) {
      assert.equal(responseTtlSeconds(policy, status, { date }), 0, String(status));
      assert.equal(responseTtlSeconds(policy, status, { date, expires: new Date(Date.now() + 60_000).toUTCString() }), 0, String(status));
      assert.equal(responseTtlSeconds(policy, status, { date, 'cache-control': 'max-age=30' }), 30, String(status));
      assert.equal(responseTtlSeconds(policy, status, { date, 'cache-control': 'max-age=2' }), ERROR_CACHING_TTL_SECONDS, String(status));
    }
  });

  it('never caches 416, whatever the origin or the ErrorCachingMinTTL say', () => {
    assert.equal(responseTtlSeconds(policy, 416, { date, 'cache-control': 'max-age=60' }, 60), 0);
  });
});
