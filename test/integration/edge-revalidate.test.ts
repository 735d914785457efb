/**
 * Revalidation of expired cached copies with a real origin on 127.0.0.1 (docs/edge.md, "Revalidation"): the edge
 * sends the copy's validators; a 304 refreshes the copy (headers and TTL) and counts as a RefreshHit, a 200
 * replaces it, a 5xx or an unreachable origin serves it on for the error-caching minimum TTL, a 4xx goes to the
 * viewer. Both tiers. The cache's clock is the test's, so nothing waits for time to pass.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { startEdge, type EdgeServer } from '../../src/edge/edge-server.js';
import { ConfigFunctionSource } from '../../src/edge/function-source.js';
import { accessLogFields } from '../../src/observe/access-log.js';
import { Redactor } from '../../src/observe/redact.js';
import { edgeRequestChannel, type EdgeTrace } from '../../src/edge/trace.js';
import { patterned, request } from './fixtures/edge-http.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const lastModified = new Date(Date.UTC(2026, 0, 2, 3, 4, 5)).toUTCString();

describe('edge: revalidation of expired copies with the origin', () => {
  let origin: Server;
  const routes = new Map<string, Handler>();
  /** Requests per path, and the validators each carried. */
  const seen = new Map<string, Array<{ ifNoneMatch?: string; ifModifiedSince?: string; range?: string }>>();
  let edge: EdgeServer;
  let functions: ConfigFunctionSource;
  let dir: string;
  let clock = Date.UTC(2026, 5, 1);

  before(async () => {
    origin = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      const list = seen.get(path) ?? [];
      list.push({
        ifNoneMatch: req.headers['if-none-match'],
        ifModifiedSince: req.headers['if-modified-since'],
        range: req.headers.range,
      });
      seen.set(path, list);
      const handler = routes.get(path);
      if (handler === undefined) res.writeHead(404).end();
      else handler(req, res);
    });
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
    dir = mkdtempSync(join(tmpdir(), 'openfront-revalidate-'));
    const config = parseConfig(
      {
        server: {
          nodeId: 'revalidate-test',
          cache: { memoryObjectBytes: 64 * 1024, diskBytes: 8 * 1024 * 1024, maxObjectBytes: 4 * 1024 * 1024, diskDir: 'cache' },
        },
        distributions: [
          {
            id: 'main',
            hostnames: ['*'],
            origins: [{ id: 'o', url: `http://127.0.0.1:${(origin.address() as AddressInfo).port}` }],
            defaultBehavior: { origin: 'o', cachePolicy: 'CachingOptimized' },
          },
        ],
      },
      dir,
    );
    functions = await ConfigFunctionSource.create(config);
    edge = await startEdge({ config, functions, port: 0, cacheBytes: 1 << 20, now: () => clock });
  });

  after(async () => {
    await edge.close();
    functions.close();
    await new Promise<void>((resolve) => origin.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * An origin path with validators: a GET carrying the current ETag (or a later If-Modified-Since) gets `answer304`
   * (default: 304 with max-age=120 and x-version), otherwise `body` with max-age=60.
   */
  function serve(path: string, body: Buffer, validators: { etag?: string; lastModified?: string } = { etag: `"${path}-v1"` }) {
    const state = {
      body,
      notModified: (res: ServerResponse) => void res.writeHead(304, { 'cache-control': 'max-age=120', 'x-version': '2', ...etagOf() }).end(),
    };
    function etagOf(): Record<string, string> {
      return validators.etag === undefined ? {} : { etag: validators.etag };
    }
    routes.set(path, (req, res) => {
      const matches =
        (validators.etag !== undefined && req.headers['if-none-match'] === validators.etag) ||
        (validators.lastModified !== undefined && req.headers['if-modified-since'] === validators.lastModified);
      if (matches) return state.notModified(res);
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'cache-control': 'max-age=60',
        'content-length': String(state.body.length),
        'x-version': '1',
        ...etagOf(),
        ...(validators.lastModified === undefined ? {} : { 'last-modified': validators.lastModified }),
      });
      res.end(state.body);
    });
    return state;
  }

  for (const [tier, size] of [
    ['memory', 10_000],
    ['disk', 300_000],
  ] as const) {
    it(`revalidates an expired ${tier}-tier copy with If-None-Match: a 304 refreshes its headers and TTL (RefreshHit)`, async () => {
      const path = `/reval/${tier}`;
      const body = patterned(size);
      serve(path, body);
      assert.equal((await request(edge.url, path)).headers['x-cache'], 'Miss from openfront');
      clock += 61_000;
      const refreshed = await request(edge.url, path);
      assert.equal(refreshed.status, 200);
      assert.equal(refreshed.headers['x-cache'], 'RefreshHit from openfront');
      assert.equal(refreshed.headers['x-version'], '2');
      assert.equal(refreshed.headers['cache-control'], 'max-age=120');
      assert.equal(refreshed.headers['content-length'], String(size));
      assert.ok(refreshed.body.equals(body));
      assert.deepEqual(
        seen.get(path)!.map((r) => r.ifNoneMatch),
        [undefined, `"${path}-v1"`],
      );
      // The 304's max-age=120 is the copy's TTL now: a hit 100 s later, revalidated again after 120 s.
      clock += 100_000;
      assert.equal((await request(edge.url, path)).headers['x-cache'], 'Hit from openfront');
      clock += 21_000;
      assert.equal((await request(edge.url, path)).headers['x-cache'], 'RefreshHit from openfront');
      assert.equal(seen.get(path)!.length, 3);
    });
  }

  it('revalidates a copy with only Last-Modified with If-Modified-Since', async () => {
    const path = '/reval/last-modified';
    serve(path, patterned(2000), { lastModified });
    await request(edge.url, path);
    clock += 61_000;
    const got = await request(edge.url, path);
    assert.equal(got.headers['x-cache'], 'RefreshHit from openfront');
    assert.deepEqual(seen.get(path)![1], { ifNoneMatch: undefined, ifModifiedSince: lastModified, range: undefined });
  });

  it('replaces the copy when the origin answers 200 to the revalidation', async () => {
    const path = '/reval/replaced';
    serve(path, Buffer.from('version one'));
    await request(edge.url, path);
    // The origin's object changed: the old ETag no longer matches, so it answers 200 with the new body.
    routes.set(path, (_req, res) => res.writeHead(200, { 'cache-control': 'max-age=60', etag: '"v2"', 'content-length': '11' }).end('version two'));
    clock += 61_000;
    const got = await request(edge.url, path);
    assert.equal(got.headers['x-cache'], 'Miss from openfront');
    assert.equal(got.body.toString(), 'version two');
    const again = await request(edge.url, path);
    assert.equal(again.headers['x-cache'], 'Hit from openfront');
    assert.equal(again.body.toString(), 'version two');
    assert.equal(seen.get(path)![1].ifNoneMatch, `"${path}-v1"`);
    assert.equal(seen.get(path)!.length, 2);
  });

  for (const [tier, size] of [
    ['memory', 5000],
    ['disk', 200_000],
  ] as const)
    it(`serves the expired ${tier}-tier copy for the error-caching minimum TTL when the origin answers 5xx, then asks again`, async () => {
      const path = `/reval/origin-5xx-${tier}`;
      const body = patterned(size);
      const state = serve(path, body);
      await request(edge.url, path);
      state.notModified = (res) => void res.writeHead(503, { 'content-type': 'text/plain' }).end('down');
      clock += 61_000;
      const got = await request(edge.url, path);
      assert.equal(got.status, 200);
      assert.equal(got.headers['x-cache'], 'RefreshHit from openfront');
      assert.ok(got.body.equals(body));
      // CloudFront's default ErrorCachingMinTTL is 10 s: within it the copy is a hit, after it the origin is asked.
      clock += 9_000;
      assert.equal((await request(edge.url, path)).headers['x-cache'], 'Hit from openfront');
      assert.equal(seen.get(path)!.length, 2);
      clock += 2_000;
      assert.equal((await request(edge.url, path)).headers['x-cache'], 'RefreshHit from openfront');
      assert.equal(seen.get(path)!.length, 3);
    });

  it('serves the expired copy when the origin cannot be reached', async () => {
    const path = '/reval/unreachable';
    const body = patterned(4000);
    const state = serve(path, body);
    await request(edge.url, path);
    state.notModified = (res) => void res.socket?.destroy();
    clock += 61_000;
    const got = await request(edge.url, path);
    assert.equal(got.status, 200);
    assert.equal(got.headers['x-cache'], 'RefreshHit from openfront');
    assert.ok(got.body.equals(body));
  });

  it('does not revalidate for a HEAD: it goes to the origin as a HEAD, and the next GET revalidates', async () => {
    const path = '/reval/head';
    serve(path, patterned(1500));
    await request(edge.url, path);
    clock += 61_000;
    const head = await request(edge.url, path, {}, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.headers['x-cache'], 'Miss from openfront');
    assert.equal(seen.get(path)![1].ifNoneMatch, undefined);
    assert.equal((await request(edge.url, path)).headers['x-cache'], 'RefreshHit from openfront');
    assert.equal(seen.get(path)![2].ifNoneMatch, `"${path}-v1"`);
  });

  it('sends a 4xx from the revalidation to the viewer and drops the copy', async () => {
    const path = '/reval/gone';
    const state = serve(path, patterned(3000));
    await request(edge.url, path);
    state.notModified = (res) => void res.writeHead(403, { 'content-type': 'text/plain' }).end('forbidden now');
    clock += 61_000;
    const got = await request(edge.url, path);
    assert.equal(got.status, 403);
    assert.equal(got.body.toString(), 'forbidden now');
    // Not stored (a 403 without max-age), and the old copy is gone: the next request goes to the origin unconditionally.
    await request(edge.url, path);
    assert.equal(seen.get(path)![2].ifNoneMatch, undefined);
  });

  it("answers the viewer's own validators and Range from the revalidated copy, not sending them to the origin", async () => {
    const path = '/reval/viewer-conditions';
    const body = patterned(20_000);
    serve(path, body);
    await request(edge.url, path);
    clock += 61_000;
    const notModified = await request(edge.url, path, { 'if-none-match': `"${path}-v1"`, range: 'bytes=0-9' });
    assert.equal(notModified.status, 304);
    assert.equal(notModified.headers['x-cache'], 'RefreshHit from openfront');
    assert.deepEqual(seen.get(path)![1], { ifNoneMatch: `"${path}-v1"`, ifModifiedSince: undefined, range: undefined });
    clock += 121_000;
    const ranged = await request(edge.url, path, { range: 'bytes=0-9', 'if-none-match': '"someone-else"' });
    assert.equal(ranged.status, 206);
    assert.ok(ranged.body.equals(body.subarray(0, 10)));
    assert.equal(seen.get(path)![2].ifNoneMatch, `"${path}-v1"`);
  });

  it("does not let 304s grow a copy's headers past 16 KiB: such a 304 is not used and the object is fetched again", async () => {
    const path = '/reval/growing-headers';
    const body = patterned(1000);
    const state = serve(path, body);
    let n = 0;
    // Each 304 adds a new 6 KB header: the first two fit, the third would take the copy past the bound.
    state.notModified = (res) => void res.writeHead(304, { etag: `"${path}-v1"`, 'cache-control': 'max-age=60', [`x-pad-${++n}`]: 'x'.repeat(6000) }).end();
    await request(edge.url, path);
    for (const expected of ['RefreshHit from openfront', 'RefreshHit from openfront', 'Miss from openfront']) {
      clock += 61_000;
      const got = await request(edge.url, path);
      assert.equal(got.headers['x-cache'], expected);
      assert.ok(got.body.equals(body));
    }
    const asked = seen.get(path)!.map((r) => r.ifNoneMatch);
    assert.deepEqual(asked, [undefined, `"${path}-v1"`, `"${path}-v1"`, `"${path}-v1"`, undefined]);
    const fetched = await request(edge.url, path);
    assert.equal(fetched.headers['x-cache'], 'Hit from openfront');
    assert.equal(fetched.headers['x-pad-1'], undefined);
  });

  it('shares one revalidation between concurrent requests for the expired copy', async () => {
    const path = '/reval/collapsed';
    const body = patterned(50_000);
    const state = serve(path, body);
    await request(edge.url, path);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let arrived!: () => void;
    const revalidating = new Promise<void>((resolve) => (arrived = resolve));
    state.notModified = (res) => {
      arrived();
      void released.then(() => res.writeHead(304, { 'cache-control': 'max-age=60', etag: `"${path}-v1"` }).end());
    };
    clock += 61_000;
    const first = request(edge.url, path);
    await revalidating;
    const others = Array.from({ length: 4 }, () => request(edge.url, path));
    // A request counts as in flight once the pipeline has it, and it reaches the collapse without awaiting anything.
    for (let i = 0; i < 10_000 && edge.inFlight < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(edge.inFlight, 5);
    release();
    const all = await Promise.all([first, ...others]);
    for (const got of all) {
      assert.equal(got.status, 200);
      assert.ok(got.body.equals(body));
      assert.equal(got.headers['x-cache'], 'RefreshHit from openfront');
    }
    assert.equal(seen.get(path)!.length, 2);
  });

  it('records the RefreshHit in the decision trace and as x-edge-result-type in the access log', async () => {
    const path = '/reval/logged';
    serve(path, patterned(1000));
    await request(edge.url, path);
    clock += 61_000;
    const traces: EdgeTrace[] = [];
    const listen = (message: unknown) => traces.push(message as EdgeTrace);
    edgeRequestChannel.subscribe(listen);
    try {
      await request(edge.url, path);
    } finally {
      edgeRequestChannel.unsubscribe(listen);
    }
    const trace = traces.find((t) => t.target === path)!;
    assert.equal(trace.cache?.status, 'refresh-hit');
    assert.equal(trace.result, 'cache');
    assert.equal(accessLogFields(trace, { redactor: new Redactor() })['x-edge-result-type'], 'RefreshHit');
  });
});
