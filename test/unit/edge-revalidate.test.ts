/**
 * The pieces of revalidation and of chunked disk fills that the integration tests cannot see from outside: which
 * headers a 304 updates, what the conditional request carries, and that a chunked fill gives its reservation back
 * whatever way it ends.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { PASS_WINDOW_BYTES } from '../../src/edge/cache/chunked-fill.js';
import { ResponseCache, type CachedHead } from '../../src/edge/cache/response-cache.js';
import { hasValidator, notModifiedMatches, revalidationHeaders, updatedHeaders } from '../../src/edge/cache/revalidate.js';

describe('revalidation headers', () => {
  it('sends the copy validators instead of the viewer conditions', () => {
    const out = revalidationHeaders(
      [
        ['accept', '*/*'],
        ['If-None-Match', '"viewer"'],
        ['range', 'bytes=0-1'],
        ['if-range', '"viewer"'],
        ['if-modified-since', 'Mon, 01 Jan 2024 00:00:00 GMT'],
      ],
      [
        ['etag', '"copy"'],
        ['last-modified', 'Tue, 02 Jan 2024 00:00:00 GMT'],
      ],
    );
    assert.deepEqual(out, [
      ['accept', '*/*'],
      ['if-none-match', '"copy"'],
      ['if-modified-since', 'Tue, 02 Jan 2024 00:00:00 GMT'],
    ]);
  });

  it('updates the stored headers a 304 carries, but never the body-describing or connection ones', () => {
    const stored: Array<[string, string]> = [
      ['content-type', 'text/html'],
      ['content-length', '10'],
      ['cache-control', 'max-age=60'],
      ['x-old', 'a'],
      ['x-old', 'b'],
      ['etag', '"e"'],
      ['age', '50'],
    ];
    const updated = updatedHeaders(stored, [
      ['cache-control', 'max-age=600'],
      ['content-length', '0'],
      ['content-type', 'text/plain'],
      ['x-old', 'c'],
      ['connection', 'keep-alive'],
    ]);
    assert.deepEqual(updated, [
      ['content-type', 'text/html'],
      ['content-length', '10'],
      ['etag', '"e"'],
      ['cache-control', 'max-age=600'],
      ['x-old', 'c'],
    ]);
  });

  it('uses a 304 only for the copy it names', () => {
    const stored: Array<[string, string]> = [['etag', 'W/"e"']];
    assert.equal(notModifiedMatches(stored, []), true);
    assert.equal(notModifiedMatches(stored, [['etag', '"e"']]), true);
    assert.equal(notModifiedMatches(stored, [['etag', '"other"']]), false);
    assert.equal(notModifiedMatches([], [['etag', '"e"']]), false);
    assert.equal(hasValidator([['Last-Modified', 'x']]), true);
    assert.equal(hasValidator([['cache-control', 'max-age=1']]), false);
  });
});

describe('response cache: stale copies and chunked fills', () => {
  const head = (now: number, headers: Array<[string, string]>): CachedHead => ({
    status: 200,
    statusText: 'OK',
    headers,
    distributionId: 'd',
    objectPath: '/x',
    storedAt: now,
    expiresAt: now + 1000,
  });

  it('keeps an expired copy with a validator for revalidation and drops one without', () => {
    let now = 1_000_000;
    const cache = new ResponseCache({ maxBytes: 1 << 20, now: () => now });
    cache.set('with', { ...head(now, [['etag', '"e"']]), body: Buffer.from('a') }, 0);
    cache.set('without', { ...head(now, []), body: Buffer.from('b') }, 0);
    now += 2000;
    assert.equal(cache.lookup('with'), undefined);
    assert.equal(cache.lookup('without'), undefined);
    const stale = cache.stale('with');
    assert.equal(stale?.tier, 'memory');
    assert.equal(cache.stale('without'), undefined);
    assert.equal(cache.entries, 1);
    const refreshed = cache.refresh('with', stale!, { headers: [['etag', '"e"']], storedAt: now, expiresAt: now + 5000 }, 0);
    assert.equal(refreshed.tier, 'memory');
    assert.equal(cache.lookup('with')?.tier, 'memory');
    // Invalidated since the revalidation began: served, not kept.
    now += 6000;
    const again = cache.stale('with')!;
    cache.invalidate('d', ['/*']);
    cache.refresh('with', again, { headers: [['etag', '"e"']], storedAt: now, expiresAt: now + 5000 }, 0);
    assert.equal(cache.lookup('with'), undefined);
  });

  for (const [name, size, failAt] of [
    ['is kept and its reservation becomes the object', 5 * 1024 * 1024, undefined],
    ['passes maxObjectBytes and gives its reservation back', 9 * 1024 * 1024, undefined],
    ['fails mid-body and gives its reservation back', 6 * 1024 * 1024, 5 * 1024 * 1024],
  ] as const) {
    it(`a chunked fill that ${name}`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'openfront-chunked-unit-'));
      try {
        const cache = new ResponseCache({ maxBytes: 1 << 20, disk: { dir, maxBytes: 16 * 1024 * 1024, maxObjectBytes: 8 * 1024 * 1024 } });
        async function* body(): AsyncGenerator<Buffer> {
          for (let sent = 0; sent < size; sent += 64 * 1024) {
            if (failAt !== undefined && sent >= failAt) throw new Error('origin went away');
            yield Buffer.alloc(64 * 1024, sent >> 16);
          }
        }
        const started = await cache.startChunkedFill('k', head(Date.now(), []), Readable.from(body()), 0);
        assert.ok(started);
        let read = 0;
        let failed = false;
        try {
          for await (const chunk of started.leader) read += (chunk as Buffer).length;
        } catch {
          failed = true;
        }
        assert.equal(failed, failAt !== undefined);
        if (!failed) assert.equal(read, size);
        // The commit (a link and an unlink) finishes after the last byte was read.
        for (let i = 0; i < 1000 && cache.diskStats()!.fills > 0; i++) await new Promise((resolve) => setImmediate(resolve));
        const stats = cache.diskStats()!;
        assert.equal(stats.fills, 0);
        assert.equal(stats.reserved, 0);
        const kept = size <= 8 * 1024 * 1024 && failAt === undefined;
        assert.equal(stats.bytes, kept ? size : 0);
        assert.equal(cache.lookup('k')?.tier, kept ? 'disk' : undefined);
        for (let i = 0; i < 1000 && readdirSync(dir).some((f) => f.startsWith('fill-')); i++) await new Promise((resolve) => setImmediate(resolve));
        assert.deepEqual(
          readdirSync(dir).filter((f) => f.startsWith('fill-')),
          [],
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it('a chunked fill that stopped holds at most its window for a viewer that does not read, and lets the origin go when the viewer does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'openfront-chunked-unit-'));
    try {
      const MiB = 1024 * 1024;
      const cache = new ResponseCache({ maxBytes: 1 << 20, disk: { dir, maxBytes: 16 * MiB, maxObjectBytes: 4 * MiB } });
      let pulled = 0;
      let released = false;
      // An origin that never ends: only backpressure keeps the edge from reading it into memory.
      async function* endless(): AsyncGenerator<Buffer> {
        try {
          for (;;) {
            pulled += 64 * 1024;
            yield Buffer.alloc(64 * 1024, 1);
          }
        } finally {
          released = true;
        }
      }
      const started = await cache.startChunkedFill('k', head(Date.now(), []), Readable.from(endless()), 0);
      assert.ok(started);
      // The fill writes 4 MiB to disk and stops (its reservation goes back); then it fills its window and waits.
      for (let i = 0; i < 100_000 && cache.diskStats()!.reserved > 0; i++) await new Promise((resolve) => setImmediate(resolve));
      let last = -1;
      for (let still = 0, turns = 0; still < 50 && turns < 20_000; turns++) {
        await new Promise((resolve) => setImmediate(resolve));
        still = pulled === last ? still + 1 : 0;
        last = pulled;
      }
      assert.ok(pulled <= 4 * MiB + PASS_WINDOW_BYTES + 2 * 64 * 1024, `read ${pulled} bytes from the origin for a viewer that read none`);
      assert.equal(cache.diskStats()!.reserved, 0);
      started.leader.destroy();
      for (let i = 0; i < 1000 && !released; i++) await new Promise((resolve) => setImmediate(resolve));
      assert.equal(released, true);
      assert.equal(cache.diskStats()!.fills, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
