import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CachePolicyConfig } from '../../src/config/types.js';
import { ERROR_CACHING_TTL_SECONDS, responseTtlSeconds } from '../../src/edge/cache/freshness.js';
import { buildCacheKey } from '../../src/edge/cache/key.js';
import { ResponseCache, type CachedResponse } from '../../src/edge/cache/response-cache.js';
import { isOpenFrontError } from '../../src/errors.js';

const none = { behavior: 'none', names: [] } as const;
function policy(overrides: Partial<CachePolicyConfig> = {}): CachePolicyConfig {
  return {
    name: 'p',
    minTtl: 0,
    defaultTtl: 100,
    maxTtl: 1000,
    headers: { ...none, names: [] },
    cookies: { ...none, names: [] },
    queryStrings: { ...none, names: [] },
    ...overrides,
  };
}

describe('buildCacheKey', () => {
  it('ignores query, headers and cookies the policy does not select', () => {
    const a = buildCacheKey(
      'D',
      '/a?x=1',
      [
        ['Accept', 'a'],
        ['Cookie', 's=1'],
      ],
      policy(),
    );
    const b = buildCacheKey(
      'D',
      '/a?x=2',
      [
        ['Accept', 'b'],
        ['Cookie', 's=2'],
      ],
      policy(),
    );
    assert.equal(a.key, b.key);
    assert.equal(a.objectPath, '/a');
  });

  it('separates distributions and paths', () => {
    assert.notEqual(buildCacheKey('D1', '/a', [], policy()).key, buildCacheKey('D2', '/a', [], policy()).key);
    assert.notEqual(buildCacheKey('D', '/a', [], policy()).key, buildCacheKey('D', '/A', [], policy()).key);
  });

  it('whitelisted query parameters enter the key in request order', () => {
    const p = policy({ queryStrings: { behavior: 'whitelist', names: ['lang', 'v'] } });
    const k1 = buildCacheKey('D', '/a?lang=en&utm=x&v=2', [], p);
    assert.equal(k1.objectPath, '/a?lang=en&v=2');
    assert.equal(k1.key, buildCacheKey('D', '/a?utm=y&lang=en&v=2', [], p).key);
    assert.notEqual(k1.key, buildCacheKey('D', '/a?v=2&lang=en', [], p).key, 'order is significant, as in CloudFront');
  });

  it('allExcept and all select query parameters', () => {
    assert.equal(buildCacheKey('D', '/a?a=1&utm=2&b=3', [], policy({ queryStrings: { behavior: 'allExcept', names: ['utm'] } })).objectPath, '/a?a=1&b=3');
    assert.equal(buildCacheKey('D', '/a?a=1&utm=2', [], policy({ queryStrings: { behavior: 'all', names: [] } })).objectPath, '/a?a=1&utm=2');
  });

  it('whitelisted headers enter the key by value, whatever their case and position', () => {
    const p = policy({ headers: { behavior: 'whitelist', names: ['accept-language'] } });
    const en = buildCacheKey(
      'D',
      '/',
      [
        ['X-Other', '1'],
        ['Accept-Language', 'en'],
      ],
      p,
    );
    assert.equal(en.key, buildCacheKey('D', '/', [['accept-language', 'en']], p).key);
    assert.notEqual(en.key, buildCacheKey('D', '/', [['accept-language', 'de']], p).key);
    assert.notEqual(en.key, buildCacheKey('D', '/', [], p).key);
  });

  it('selected cookies enter the key sorted by name', () => {
    const p = policy({ cookies: { behavior: 'whitelist', names: ['a', 'b'] } });
    const k = buildCacheKey('D', '/', [['Cookie', 'b=2; track=9; a=1']], p);
    assert.equal(
      k.key,
      buildCacheKey(
        'D',
        '/',
        [
          ['Cookie', 'a=1'],
          ['cookie', 'b=2'],
        ],
        p,
      ).key,
    );
    assert.notEqual(k.key, buildCacheKey('D', '/', [['Cookie', 'a=1; b=3']], p).key);
  });
});

describe('responseTtlSeconds', () => {
  const p = policy({ minTtl: 10, defaultTtl: 100, maxTtl: 1000 });
  const date = new Date().toUTCString();
  it('uses the default TTL when the origin says nothing', () => {
    assert.equal(responseTtlSeconds(p, 200, { date }), 100);
  });
  it('honours max-age and s-maxage within [minTtl, maxTtl]', () => {
    assert.equal(responseTtlSeconds(p, 200, { date, 'cache-control': 'max-age=300' }), 300);
    assert.equal(responseTtlSeconds(p, 200, { date, 'cache-control': 'max-age=300, s-maxage=500' }), 500);
    assert.equal(responseTtlSeconds(p, 200, { date, 'cache-control': 'max-age=5' }), 10);
    assert.equal(responseTtlSeconds(p, 200, { date, 'cache-control': 'max-age=99999' }), 1000);
  });
  it('subtracts the Age the response already has', () => {
    assert.equal(responseTtlSeconds(p, 200, { date, 'cache-control': 'max-age=300', age: '100' }), 200);
  });
  it('honours Expires', () => {
    // Expires 600 s after the response's Date: both have whole seconds, so the lifetime is exactly 600 s.
    const ttl = responseTtlSeconds(p, 200, { date, expires: new Date(Date.parse(date) + 600_000).toUTCString() });
    assert.ok(ttl >= 598 && ttl <= 600, `ttl ${ttl}`);
  });
  it('no-store / no-cache / private are cached only for minTtl', () => {
    for (const cc of ['no-store', 'no-cache', 'private, max-age=60']) {
      assert.equal(responseTtlSeconds(p, 200, { date, 'cache-control': cc }), 10, cc);
      assert.equal(responseTtlSeconds(policy({ minTtl: 0 }), 200, { date, 'cache-control': cc }), 0, cc);
    }
  });
  it('caches errors briefly and never caches what CloudFront does not', () => {
    assert.equal(responseTtlSeconds(p, 404, { date }), ERROR_CACHING_TTL_SECONDS);
    // CloudFront's error caching: only max-age / s-maxage count; other directives leave ErrorCachingMinTTL.
    assert.equal(responseTtlSeconds(p, 503, { date, 'cache-control': 'no-store' }), ERROR_CACHING_TTL_SECONDS);
    assert.equal(responseTtlSeconds(p, 302, { date, 'cache-control': 'max-age=60' }), 0);
    assert.equal(responseTtlSeconds(policy({ minTtl: 0, defaultTtl: 0, maxTtl: 0 }), 200, { date, 'cache-control': 'max-age=60' }), 0);
  });
});

function entry(distributionId: string, objectPath: string, bodyBytes: number, now = 0, ttlMs = 60_000): CachedResponse {
  return {
    status: 200,
    statusText: 'OK',
    headers: [['content-type', 'text/plain']],
    body: Buffer.alloc(bodyBytes),
    distributionId,
    objectPath,
    storedAt: now,
    expiresAt: now + ttlMs,
  };
}

describe('ResponseCache', () => {
  it('expires entries on the injected clock', () => {
    let now = 1_000;
    const cache = new ResponseCache({ maxBytes: 1 << 20, now: () => now });
    cache.set('k', entry('D', '/a', 10, now, 5_000), 0);
    assert.ok(cache.get('k'));
    now += 5_000;
    assert.equal(cache.get('k'), undefined);
    assert.equal(cache.entries, 0);
  });

  it('evicts least-recently-used entries to stay within the byte budget', () => {
    const cache = new ResponseCache({ maxBytes: 3_500, now: () => 0 });
    cache.set('a', entry('D', '/a', 800), 0);
    cache.set('b', entry('D', '/b', 800), 0);
    cache.set('c', entry('D', '/c', 800), 0);
    assert.ok(cache.get('a'), 'touch a so b is the least recently used');
    cache.set('d', entry('D', '/d', 800), 0);
    assert.equal(cache.get('b'), undefined);
    assert.ok(cache.get('a') && cache.get('c') && cache.get('d'));
    assert.ok(cache.bytes <= 3_500, `bytes ${cache.bytes}`);
  });

  it('refuses an object larger than the whole budget, and stores nothing with a zero budget', () => {
    const cache = new ResponseCache({ maxBytes: 1_000, now: () => 0 });
    assert.equal(cache.set('big', entry('D', '/big', 5_000), 0), false);
    const off = new ResponseCache({ maxBytes: 0, now: () => 0 });
    assert.equal(off.set('a', entry('D', '/a', 1), 0), false);
    assert.equal(off.get('a'), undefined);
  });

  it('collapses concurrent misses on one key into one fetch', async () => {
    const cache = new ResponseCache({ maxBytes: 1 << 20 });
    let calls = 0;
    let release!: (v: string) => void;
    const fetch = () => {
      calls++;
      return new Promise<string>((resolve) => (release = resolve));
    };
    const first = cache.collapse('k', fetch);
    const second = cache.collapse('k', fetch);
    const other = cache.collapse('other', async () => 'other');
    assert.equal(first.collapsed, false);
    assert.equal(second.collapsed, true);
    assert.equal(other.collapsed, false);
    release('value');
    assert.deepEqual(await Promise.all([first.result, second.result, other.result]), ['value', 'value', 'other']);
    assert.equal(calls, 1);
    const third = cache.collapse('k', async () => 'fresh');
    assert.equal(third.collapsed, false, 'a finished fetch is not reused');
    assert.equal(await third.result, 'fresh');
  });

  it('shares a rejection with every waiter and then forgets it', async () => {
    const cache = new ResponseCache({ maxBytes: 1 << 20 });
    const a = cache.collapse('k', async () => Promise.reject(new Error('boom')));
    const b = cache.collapse('k', async () => 'unused');
    await assert.rejects(a.result, /boom/);
    await assert.rejects(b.result, /boom/);
    assert.equal(await cache.collapse('k', async () => 'ok').result, 'ok');
  });

  it('invalidates by exact path, prefix wildcard and everything, per distribution', () => {
    const cache = new ResponseCache({ maxBytes: 1 << 20, now: () => 0 });
    for (const path of ['/images/a.jpg', '/images/deep/b.jpg', '/images/a.jpg?v=2', '/index.html']) cache.set(`D${path}`, entry('D', path, 1), 0);
    cache.set('E/images/a.jpg', entry('E', '/images/a.jpg', 1), 0);
    assert.equal(cache.invalidate('D', ['/images/a.jpg']), 1);
    assert.ok(cache.get('D/images/a.jpg?v=2'), 'an exact path does not cover query variants');
    assert.equal(cache.invalidate('D', ['/images/*']), 2);
    assert.ok(cache.get('E/images/a.jpg'), 'other distributions are untouched');
    assert.ok(cache.get('D/index.html'));
    assert.equal(cache.invalidate('D', ['/*']), 1);
    assert.equal(cache.entries, 1);
  });

  it('rejects "*" anywhere but at the end of an invalidation path', () => {
    const cache = new ResponseCache({ maxBytes: 1 << 20 });
    assert.throws(
      () => cache.invalidate('D', ['/images/*.jpg']),
      (err: unknown) => isOpenFrontError(err) && err.code === 'INPUT_INVALID',
    );
  });

  it('does not store a response fetched before an invalidation of its distribution', () => {
    const cache = new ResponseCache({ maxBytes: 1 << 20, now: () => 0 });
    const generation = cache.generation('D');
    cache.invalidate('D', ['/*']);
    assert.equal(cache.set('k', entry('D', '/a', 1), generation), false);
    assert.equal(cache.set('k', entry('D', '/a', 1), cache.generation('D')), true);
  });
});
