/**
 * The edge end to end: a real edge (real engine, real config) in front of real origin servers, all on 127.0.0.1
 * port 0.
 */
import assert from 'node:assert/strict';
import diagnostics_channel from 'node:diagnostics_channel';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { startEdge, type EdgeServer } from '../../src/edge/edge-server.js';
import { ConfigFunctionSource } from '../../src/edge/function-source.js';
import { EDGE_REQUEST_CHANNEL, type EdgeTrace } from '../../src/edge/trace.js';
import { MapSnapshot } from '../../src/kvs/snapshot.js';

interface Seen {
  server: string;
  method: string;
  url: string;
  rawHeaders: string[];
}

/** An origin that answers with what it received, plus a few behaviours chosen by path. */
async function startOrigin(name: string): Promise<{ server: Server; port: number; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    seen.push({ server: name, method: req.method ?? '', url, rawHeaders: req.rawHeaders });
    const status = /^\/(?:hs\/)?status\/(\d{3})/.exec(url);
    const headers: Array<[string, string]> = [['content-type', 'application/json']];
    if (url.startsWith('/cache/')) headers.push(['cache-control', 'max-age=60']);
    if (url.startsWith('/echo/cookies')) headers.push(['set-cookie', 'a=1; Path=/'], ['set-cookie', 'b=2; Path=/; Secure']);
    const received: Buffer[] = [];
    req.on('data', (chunk: Buffer) => received.push(chunk));
    req.on('end', () => {
      const body = JSON.stringify({ server: name, url, count: seen.length, rawHeaders: req.rawHeaders, body: Buffer.concat(received).toString('utf8') });
      const send = () => {
        res.writeHead(status ? Number(status[1]) : 200, [...headers.flat(), 'content-length', String(Buffer.byteLength(body))]);
        res.end(body);
      };
      if (url === '/slow') setTimeout(send, 1_500).unref();
      else if (url.startsWith('/cache/collapse')) setTimeout(send, 150);
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, seen };
}

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  body: string;
}

function get(base: string, path: string, headers: Record<string, string | string[]> = {}, method = 'GET', body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    // Given as a path (not a URL) so that dot segments reach the edge unnormalized.
    const { hostname, port } = new URL(base);
    const req = httpRequest({ hostname, port, path, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

function headerValues(rawHeaders: string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i].toLowerCase() === name) out.push(rawHeaders[i + 1]);
  return out;
}

const VIEWER_REQUEST = `import cf from 'cloudfront';
async function handler(event) {
  var r = event.request;
  if (r.uri === '/old') {
    return { statusCode: 301, statusDescription: 'Moved Permanently', headers: { location: { value: '/new' } } };
  }
  if (r.uri.startsWith('/rewrite/')) r.uri = '/echo/' + r.uri.slice(9);
  if (r.uri === '/to-b') cf.selectRequestOriginById('b');
  if (r.uri === '/to-nowhere') cf.selectRequestOriginById('ghost');
  if (r.uri === '/update') cf.updateRequestOrigin({ domainName: 'localhost', originPath: '/prefixed', customOriginConfig: { port: PORT_B, protocol: 'http', sslProtocols: ['TLSv1.2'] } });
  if (r.uri === '/group') cf.createRequestOriginGroup({ originIds: ['dead', 'b'], failoverCriteria: { statusCodes: [500] } });
  if (r.uri === '/err/throw') throw new Error('boom');
  if (r.uri === '/err/invalid') r.headers['x-cache'] = { value: 'forged' };
  if (r.headers['x-multi']) r.headers['x-multi'].multiValue.push({ value: 'c' });
  r.headers['x-added'] = { value: 'yes' };
  if (r.cookies.drop) {
    delete r.cookies.drop;
    r.cookies.added = { value: '1' };
  }
  return r;
}`;

const NORMALIZE = `function handler(event) {
  var qs = [];
  Object.keys(event.request.querystring).sort().forEach(function (key) {
    qs.push(key + '=' + event.request.querystring[key].value);
  });
  event.request.querystring = qs.join('&');
  return event.request;
}`;

const VIEWER_RESPONSE = `async function handler(event) {
  var res = event.response;
  res.headers['x-viewer-response'] = { value: 'ran' };
  if (res.cookies.a) res.cookies.a.value = 'changed';
  return res;
}`;

const KVS_FN = `import cf from 'cloudfront';
const store = cf.kvs();
async function handler(event) {
  const greeting = await store.get('greeting');
  const present = await store.exists('missing');
  event.request.headers['x-greeting'] = { value: greeting + ':' + present };
  return event.request;
}`;

describe('edge pipeline (real engine, real origins)', () => {
  let dir: string;
  let a: Awaited<ReturnType<typeof startOrigin>>;
  let b: Awaited<ReturnType<typeof startOrigin>>;
  let deadPort: number;
  let functions: ConfigFunctionSource;
  let edge: EdgeServer;
  let base: string;

  before(async () => {
    a = await startOrigin('A');
    b = await startOrigin('B');
    const dead = createServer();
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
    deadPort = (dead.address() as AddressInfo).port;
    await new Promise<void>((resolve) => dead.close(() => resolve()));

    dir = mkdtempSync(join(tmpdir(), 'openfront-edge-'));
    mkdirSync(join(dir, 'public', 'static'), { recursive: true });
    writeFileSync(join(dir, 'public', 'static', 'hello.txt'), 'hello from disk\n');
    writeFileSync(join(dir, 'viewer-request.js'), VIEWER_REQUEST.replace('PORT_B', String(b.port)));
    writeFileSync(join(dir, 'normalize.js'), NORMALIZE);
    writeFileSync(join(dir, 'viewer-response.js'), VIEWER_RESPONSE);
    writeFileSync(join(dir, 'kvs.js'), KVS_FN);

    const config = parseConfig(
      {
        server: { nodeId: 'test-node' },
        stores: [{ name: 'greetings' }],
        functions: [
          { name: 'router', code: 'viewer-request.js' },
          { name: 'normalize', code: 'normalize.js', runtime: 'cloudfront-js-1.0' },
          { name: 'decorate', code: 'viewer-response.js' },
          { name: 'greet', code: 'kvs.js', store: 'greetings' },
        ],
        cachePolicies: [{ name: 'AllQueries', minTtl: 0, defaultTtl: 30, maxTtl: 300, queryStrings: { behavior: 'all' } }],
        distributions: [
          {
            id: 'main',
            hostnames: ['*'],
            origins: [
              { id: 'a', url: `http://127.0.0.1:${a.port}` },
              { id: 'b', url: `http://127.0.0.1:${b.port}` },
              { id: 'dead', url: `http://127.0.0.1:${deadPort}`, connectTimeoutMs: 500 },
              { id: 'impatient', url: `http://127.0.0.1:${a.port}`, readTimeoutMs: 200 },
              { id: 'files', static: 'public' },
            ],
            originGroups: [
              { id: 'ha', primary: 'dead', secondary: 'b' },
              { id: 'ha-status', primary: 'a', secondary: 'b', failoverStatusCodes: [503] },
            ],
            defaultBehavior: {
              origin: 'a',
              cachePolicy: 'CachingDisabled',
              functionAssociations: { 'viewer-request': 'router', 'viewer-response': 'decorate' },
            },
            behaviors: [
              { pathPattern: '/cache/*', origin: 'a', cachePolicy: 'AllQueries', functionAssociations: { 'viewer-request': 'normalize' } },
              { pathPattern: '/slow', origin: 'impatient', cachePolicy: 'CachingDisabled' },
              { pathPattern: '/dead', origin: 'dead', cachePolicy: 'CachingDisabled' },
              { pathPattern: '/ha/*', origin: 'ha', cachePolicy: 'CachingDisabled' },
              { pathPattern: '/hs/*', origin: 'ha-status', cachePolicy: 'CachingDisabled' },
              { pathPattern: '/static/*', origin: 'files' },
              { pathPattern: '/kvs/*', origin: 'a', cachePolicy: 'CachingDisabled', functionAssociations: { 'viewer-request': 'greet' } },
            ],
          },
        ],
      },
      dir,
    );
    const storeId = '6f2a4c1e-0000-4000-8000-00000000beef';
    const snapshot = new MapSnapshot({ greeting: 'hello' }, { id: storeId, version: 7 });
    functions = await ConfigFunctionSource.create(config, {
      stores: (name) => (name === 'greetings' ? { id: storeId, source: { snapshot: () => snapshot } } : undefined),
    });
    edge = await startEdge({ config, functions, port: 0, cacheBytes: 1 << 20 });
    base = edge.url;
  });

  after(async () => {
    await edge.close();
    functions.close();
    await Promise.all([a, b].map((o) => new Promise<void>((resolve) => o.server.close(() => resolve()))));
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends a response generated by the viewer-request function without touching the origin or the viewer-response function', async () => {
    const before = a.seen.length;
    const res = await get(base, '/old');
    assert.equal(res.status, 301);
    assert.equal(res.headers.location, '/new');
    assert.equal(res.headers['x-cache'], 'FunctionGeneratedResponse from openfront');
    assert.equal(res.headers['x-viewer-response'], undefined);
    assert.match(String(res.headers['x-openfront-request-id']), /^[A-Za-z0-9_-]{40}$/);
    assert.equal(a.seen.length, before);
  });

  it('forwards a rewritten uri with Via, X-Forwarded-For and the request id', async () => {
    const res = await get(base, '/rewrite/page?x=1', { 'x-forwarded-for': '203.0.113.9', connection: 'keep-alive, x-hop', 'x-hop': 'secret' });
    assert.equal(res.status, 200);
    const echoed = JSON.parse(res.body) as { url: string; rawHeaders: string[] };
    assert.equal(echoed.url, '/echo/page?x=1');
    assert.deepEqual(headerValues(echoed.rawHeaders, 'x-forwarded-for'), ['203.0.113.9, 127.0.0.1']);
    assert.deepEqual(headerValues(echoed.rawHeaders, 'via'), ['1.1 test-node (OpenFront)']);
    assert.deepEqual(headerValues(echoed.rawHeaders, 'host'), [`127.0.0.1:${a.port}`]);
    assert.deepEqual(headerValues(echoed.rawHeaders, 'x-hop'), [], 'headers named in Connection are hop-by-hop');
    assert.deepEqual(headerValues(echoed.rawHeaders, 'x-openfront-request-id'), [res.headers['x-openfront-request-id']]);
    assert.equal(res.headers.via, '1.1 test-node (OpenFront)');
    assert.equal(res.headers['x-cache'], 'Miss from openfront');
    assert.equal(res.headers['x-viewer-response'], 'ran');
  });

  it("forwards request bodies and answers HEAD with the origin's declared length", async () => {
    const posted = await get(base, '/rewrite/form', { 'content-type': 'text/plain' }, 'POST', 'name=value');
    assert.equal(posted.status, 200);
    assert.equal(JSON.parse(posted.body).body, 'name=value');
    const head = await get(base, '/rewrite/form', {}, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    assert.ok(Number(head.headers['content-length']) > 0);
  });

  it('round-trips repeated headers through multiValue and applies cookie changes', async () => {
    const res = await get(base, '/rewrite/cookies', { 'x-multi': ['a', 'b'], cookie: 'keep=1; drop=2' });
    const echoed = JSON.parse(res.body) as { rawHeaders: string[] };
    assert.deepEqual(headerValues(echoed.rawHeaders, 'x-multi'), ['a', 'b', 'c']);
    assert.deepEqual(headerValues(echoed.rawHeaders, 'x-added'), ['yes']);
    assert.deepEqual(headerValues(echoed.rawHeaders, 'cookie'), ['keep=1; added=1']);
    // viewer-response: the origin's two Set-Cookie lines come back, the first one changed by the function.
    assert.deepEqual(res.headers['set-cookie'], ['a=changed; Path=/', 'b=2; Path=/; Secure']);
  });

  it('honours origin selection by the cloudfront module helpers', async () => {
    assert.equal(JSON.parse((await get(base, '/to-b')).body).server, 'B');
    const updated = JSON.parse((await get(base, '/update')).body) as { server: string; url: string; rawHeaders: string[] };
    assert.equal(updated.server, 'B');
    assert.equal(updated.url, '/prefixed/update');
    assert.deepEqual(headerValues(updated.rawHeaders, 'host'), [`localhost:${b.port}`]);
    assert.equal(JSON.parse((await get(base, '/group')).body).server, 'B', 'the ad-hoc group fails over from a dead primary');
  });

  it('answers 502 FunctionValidationError when a function selects an origin that does not exist', async () => {
    const res = await get(base, '/to-nowhere');
    assert.equal(res.status, 502);
    assert.equal(res.headers['x-openfront-error'], 'FunctionValidationError');
  });

  it('fails over within an origin group on connection errors and on listed statuses', async () => {
    const viaDead = await get(base, '/ha/x');
    assert.equal(viaDead.status, 200);
    assert.equal(JSON.parse(viaDead.body).server, 'B');
    const viaStatus = await get(base, '/hs/status/503');
    assert.equal(JSON.parse(viaStatus.body).server, 'B');
    const unlisted = await get(base, '/hs/status/500');
    assert.equal(unlisted.status, 500, 'a status not in the list is passed through');
    assert.equal(JSON.parse(unlisted.body).server, 'A');
  });

  it('answers 502 when the origin is unreachable and 504 when it is too slow', async () => {
    const dead = await get(base, '/dead');
    assert.equal(dead.status, 502);
    assert.equal(dead.headers['x-openfront-error'], 'OriginConnectError');
    assert.match(dead.body, /could not be satisfied/);
    const slow = await get(base, '/slow');
    assert.equal(slow.status, 504);
    assert.equal(slow.headers['x-openfront-error'], 'OriginTimeout');
  });

  it('caches under a key the function shaped, serves hits, and forgets on invalidation', async () => {
    const before = a.seen.length;
    const first = await get(base, '/cache/item?b=2&a=1');
    assert.equal(first.headers['x-cache'], 'Miss from openfront');
    assert.equal(JSON.parse(first.body).url, '/cache/item?a=1&b=2', 'the origin sees the normalized query');
    const second = await get(base, '/cache/item?a=1&b=2');
    assert.equal(second.headers['x-cache'], 'Hit from openfront');
    assert.equal(second.body, first.body);
    assert.equal(second.headers.age, '0');
    const other = await get(base, '/cache/item?a=1&b=3');
    assert.equal(other.headers['x-cache'], 'Miss from openfront', 'query strings are part of this policy’s key');
    assert.equal(a.seen.length, before + 2);

    assert.equal(edge.invalidate('main', ['/cache/item?a=1&b=2']), 1);
    assert.equal((await get(base, '/cache/item?a=1&b=2')).headers['x-cache'], 'Miss from openfront');
    assert.equal(edge.invalidate('main', ['/cache/*']), 2);
    assert.equal((await get(base, '/cache/item?a=1&b=3')).headers['x-cache'], 'Miss from openfront');
  });

  it('collapses concurrent misses into one origin request', async () => {
    const before = a.seen.filter((s) => s.url.startsWith('/cache/collapse')).length;
    const replies = await Promise.all(Array.from({ length: 5 }, () => get(base, '/cache/collapse')));
    assert.ok(replies.every((r) => r.status === 200 && r.body === replies[0].body));
    assert.equal(a.seen.filter((s) => s.url.startsWith('/cache/collapse')).length, before + 1);
  });

  it('serves a static directory origin', async () => {
    const res = await get(base, '/static/hello.txt');
    assert.equal(res.status, 200);
    assert.equal(res.body, 'hello from disk\n');
    assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal((await get(base, '/static/missing.txt')).status, 404);
    assert.equal((await get(base, '/static/%2e%2e/%2e%2e/etc/passwd')).status, 403);
  });

  it('answers 503 / 502 for function errors while other requests keep succeeding', async () => {
    const replies = await Promise.all([get(base, '/err/throw'), get(base, '/rewrite/ok'), get(base, '/err/invalid'), get(base, '/rewrite/ok2')]);
    assert.equal(replies[0].status, 503);
    assert.equal(replies[0].headers['x-openfront-error'], 'FunctionExecutionError');
    assert.match(replies[0].headers['content-type'] ?? '', /text\/html/);
    assert.equal(replies[2].status, 502);
    assert.equal(replies[2].headers['x-openfront-error'], 'FunctionValidationError');
    assert.equal(replies[1].status, 200);
    assert.equal(replies[3].status, 200);
    assert.equal((await get(base, '/rewrite/after')).status, 200);
  });

  it('keeps every request its own answer when many run through the functions at once (batched invocations)', async () => {
    const batchSizes: number[] = [];
    const listener = (message: unknown) => {
      for (const fn of (message as EdgeTrace).functions) if (fn.batchSize !== undefined) batchSizes.push(fn.batchSize);
    };
    diagnostics_channel.subscribe(EDGE_REQUEST_CHANNEL, listener);
    let replies: Reply[];
    try {
      replies = await Promise.all(Array.from({ length: 120 }, (_, i) => get(base, `/rewrite/n${i}?q=${i}`, { 'x-n': String(i) })));
    } finally {
      diagnostics_channel.unsubscribe(EDGE_REQUEST_CHANNEL, listener);
    }
    // 120 requests × (viewer-request + viewer-response), and some of them really did share a call into the isolate.
    assert.equal(batchSizes.length, 240);
    assert.ok(Math.max(...batchSizes) > 1, `batch sizes: ${[...new Set(batchSizes)].join(', ')}`);
    replies.forEach((reply, i) => {
      assert.equal(reply.status, 200, `request ${i}`);
      const seen = JSON.parse(reply.body) as { url: string; rawHeaders: string[] };
      assert.equal(seen.url, `/echo/n${i}?q=${i}`);
      assert.deepEqual(headerValues(seen.rawHeaders, 'x-n'), [String(i)]);
      assert.deepEqual(headerValues(seen.rawHeaders, 'x-added'), ['yes']);
      assert.equal(reply.headers['x-viewer-response'], 'ran');
    });
  });

  it('publishes a decision trace with KVS reads to diagnostics_channel subscribers', async () => {
    const traces: EdgeTrace[] = [];
    const listener = (message: unknown) => traces.push(message as EdgeTrace);
    diagnostics_channel.subscribe(EDGE_REQUEST_CHANNEL, listener);
    try {
      const res = await get(base, '/kvs/hello');
      assert.deepEqual(headerValues((JSON.parse(res.body) as { rawHeaders: string[] }).rawHeaders, 'x-greeting'), ['hello:false']);
      await get(base, '/cache/traced');
      await get(base, '/cache/traced');
      await get(base, '/err/throw');
    } finally {
      diagnostics_channel.unsubscribe(EDGE_REQUEST_CHANNEL, listener);
    }
    assert.equal(traces.length, 4);
    const [kvs, miss, hit, failed] = traces;
    assert.equal(kvs.distributionId, 'main');
    assert.equal(kvs.behavior, '/kvs/*');
    assert.equal(kvs.nodeId, 'test-node');
    assert.equal(kvs.status, 200);
    assert.equal(kvs.result, 'origin');
    assert.equal(kvs.origin?.id, 'a');
    assert.equal(kvs.functions.length, 1);
    const fn = kvs.functions[0];
    assert.equal(fn.name, 'greet');
    assert.equal(fn.eventType, 'viewer-request');
    assert.equal(fn.kind, 'request');
    assert.match(fn.codeHash, /^[0-9a-f]{64}$/);
    assert.equal(fn.version, fn.codeHash.slice(0, 12));
    assert.deepEqual(
      fn.kvsReads.map((r) => ({ op: r.op, key: r.key, version: r.version, hit: r.hit })),
      [
        { op: 'get', key: 'greeting', version: 7, hit: true },
        { op: 'exists', key: 'missing', version: 7, hit: false },
      ],
    );
    assert.ok(kvs.timings.total > 0 && kvs.timings.viewerRequest! > 0 && kvs.timings.origin! > 0);
    assert.equal(miss.cache?.status, 'miss');
    assert.equal(miss.cache?.stored, true);
    assert.equal(hit.cache?.status, 'hit');
    assert.equal(hit.cache?.key, miss.cache?.key);
    assert.equal(hit.result, 'cache');
    assert.equal(hit.origin, undefined);
    assert.equal(failed.status, 503);
    assert.equal(failed.result, 'function-error');
    assert.equal(failed.functions[0].errorClass, 'execution');
    assert.match(failed.error ?? '', /^FunctionExecutionError/);
  });

  it('swaps function code atomically on reload', async () => {
    writeFileSync(join(dir, 'viewer-response.js'), VIEWER_RESPONSE.replace("value: 'ran'", "value: 'ran-v2'"));
    assert.deepEqual(await functions.reload(), ['decorate']);
    assert.equal((await get(base, '/rewrite/x')).headers['x-viewer-response'], 'ran-v2');
    assert.deepEqual(await functions.reload(), [], 'unchanged code is not reloaded');
  });
});

describe('edge: a runaway function does not hold up other requests', () => {
  it('serves other functions while one spins until it is killed', async () => {
    const origin = await startOrigin('A');
    const dir = mkdtempSync(join(tmpdir(), 'openfront-edge-spin-'));
    writeFileSync(join(dir, 'spin.js'), 'function handler(event) { while (true) {} }');
    writeFileSync(join(dir, 'fast.js'), "function handler(event) { event.request.headers['x-fast'] = { value: '1' }; return event.request; }");
    const config = parseConfig(
      {
        functions: [
          { name: 'spin', code: 'spin.js' },
          { name: 'fast', code: 'fast.js' },
        ],
        distributions: [
          {
            id: 'spin',
            hostnames: ['*'],
            origins: [{ id: 'a', url: `http://127.0.0.1:${origin.port}` }],
            defaultBehavior: { origin: 'a', cachePolicy: 'CachingDisabled', functionAssociations: { 'viewer-request': 'fast' } },
            behaviors: [{ pathPattern: '/spin', origin: 'a', cachePolicy: 'CachingDisabled', functionAssociations: { 'viewer-request': 'spin' } }],
          },
        ],
      },
      dir,
    );
    // A long kill limit makes the window wide: with the function on the event loop's thread, nothing else would
    // be answered for those 400 ms.
    const functions = await ConfigFunctionSource.create(config, { limits: { killAfterMicros: 400_000 } });
    const edge = await startEdge({ config, functions, port: 0 });
    try {
      const order: string[] = [];
      const spinning = get(edge.url, '/spin').then((reply) => {
        order.push('spin');
        return reply;
      });
      for (let i = 0; i < 5; i++) {
        const reply = await get(edge.url, `/fast/${i}`);
        assert.equal(reply.status, 200);
        assert.deepEqual(headerValues(JSON.parse(reply.body).rawHeaders, 'x-fast'), ['1']);
        order.push(`fast ${i}`);
      }
      const spun = await spinning;
      assert.equal(spun.status, 503);
      assert.equal(spun.headers['x-openfront-error'], 'FunctionExecutionError');
      assert.deepEqual(order, ['fast 0', 'fast 1', 'fast 2', 'fast 3', 'fast 4', 'spin']);
    } finally {
      await edge.close();
      functions.close();
      await new Promise<void>((resolve) => origin.server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
