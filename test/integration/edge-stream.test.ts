/**
 * Streamed bodies through a real edge in front of real origins on 127.0.0.1: bytes reach the viewer before the
 * origin has finished, a viewer that goes away releases the origin, and an upload reaches the origin while the
 * viewer is still sending it. Every wait is for an event, never a timer.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { startEdge, type EdgeServer } from '../../src/edge/edge-server.js';
import { ConfigFunctionSource } from '../../src/edge/function-source.js';
import { diskFiles, patterned, request } from './fixtures/edge-http.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** An origin whose answer per path the test sets. */
async function startOrigin(): Promise<{ server: Server; port: number; routes: Map<string, Handler>; hits: Map<string, number> }> {
  const routes = new Map<string, Handler>();
  const hits = new Map<string, number>();
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const handler = routes.get(path);
    if (handler === undefined) {
      res.writeHead(404).end();
      return;
    }
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, routes, hits };
}

/** Deterministic bytes: chunk `i` of a body is filled with `i & 0xff`. */
function chunkOf(i: number, size: number): Buffer {
  return Buffer.alloc(size, i & 0xff);
}

/** Writes `count` chunks with backpressure, then ends. */
async function writeChunks(res: ServerResponse, count: number, size: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    if (!res.write(chunkOf(i, size))) await once(res, 'drain');
  }
  res.end();
}

function expectedHash(count: number, size: number): string {
  const hash = createHash('sha256');
  for (let i = 0; i < count; i++) hash.update(chunkOf(i, size));
  return hash.digest('hex');
}

interface Fetched {
  status: number;
  headers: IncomingMessage['headers'];
  bytes: number;
  sha256: string;
}

function fetchHashed(base: string, path: string, headers: Record<string, string> = {}): Promise<Fetched> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(base);
    const req = httpRequest({ hostname, port, path, headers, agent: false }, (res) => {
      const hash = createHash('sha256');
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        hash.update(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes, sha256: hash.digest('hex') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('edge: streamed bodies', () => {
  let origin: Awaited<ReturnType<typeof startOrigin>>;
  let edge: EdgeServer;
  let functions: ConfigFunctionSource;
  let dir: string;

  before(async () => {
    origin = await startOrigin();
    dir = mkdtempSync(join(tmpdir(), 'openfront-stream-'));
    const config = parseConfig(
      {
        server: { nodeId: 'stream-test' },
        distributions: [
          {
            id: 'main',
            hostnames: ['*'],
            origins: [{ id: 'o', url: `http://127.0.0.1:${origin.port}` }],
            defaultBehavior: { origin: 'o', cachePolicy: 'CachingDisabled' },
            behaviors: [{ pathPattern: '/cached/*', origin: 'o', cachePolicy: 'CachingOptimized' }],
          },
        ],
      },
      dir,
    );
    functions = await ConfigFunctionSource.create(config);
    edge = await startEdge({ config, functions, port: 0, cacheBytes: 1 << 20 });
  });

  after(async () => {
    await edge.close();
    functions.close();
    await new Promise<void>((resolve) => origin.server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  for (const path of ['/gate', '/cached/gate']) {
    it(`sends the first bytes of ${path} before the origin has finished the body`, async () => {
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      origin.routes.set(path, (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'max-age=60', 'content-length': String(2 << 20) });
        res.write(Buffer.alloc(1 << 20, 1));
        void released.then(() => res.end(Buffer.alloc(1 << 20, 2)));
      });
      const { hostname, port } = new URL(edge.url);
      const req = httpRequest({ hostname, port, path, agent: false });
      req.end();
      const [res] = (await once(req, 'response')) as [IncomingMessage];
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['content-length'], String(2 << 20));
      // The first byte arrives while the origin still holds the second half back.
      await once(res, 'readable');
      release();
      let bytes = 0;
      for await (const chunk of res) bytes += (chunk as Buffer).length;
      assert.equal(bytes, 2 << 20);
    });
  }

  it('releases the origin when the viewer goes away mid-body', async () => {
    let originClosed!: Promise<unknown>;
    origin.routes.set('/endless', (_req, res) => {
      originClosed = once(res, 'close');
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const pump = (): void => {
        while (!res.destroyed && res.write(Buffer.alloc(64 * 1024, 7)));
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
    });
    const { hostname, port } = new URL(edge.url);
    const req = httpRequest({ hostname, port, path: '/endless', agent: false });
    req.end();
    const [res] = (await once(req, 'response')) as [IncomingMessage];
    await once(res, 'data');
    req.on('error', () => undefined);
    res.destroy();
    await originClosed;
  });

  it('streams an upload to the origin while the viewer is still sending it', async () => {
    let firstChunkSeen!: () => void;
    const firstChunk = new Promise<void>((resolve) => (firstChunkSeen = resolve));
    origin.routes.set('/upload', (req, res) => {
      let bytes = 0;
      req.on('data', (chunk: Buffer) => {
        if (bytes === 0) firstChunkSeen();
        bytes += chunk.length;
      });
      req.on('end', () => res.writeHead(200, { 'content-type': 'text/plain' }).end(String(bytes)));
    });
    const { hostname, port } = new URL(edge.url);
    const req = httpRequest({ hostname, port, path: '/upload', method: 'POST', agent: false, headers: { 'transfer-encoding': 'chunked' } });
    req.write(Buffer.alloc(100_000, 3));
    // The origin has the first part while the viewer has not finished: nothing waited for the whole body.
    await firstChunk;
    req.end(Buffer.alloc(50_000, 4));
    const [res] = (await once(req, 'response')) as [IncomingMessage];
    let text = '';
    for await (const chunk of res) text += String(chunk);
    assert.equal(text, '150000');
  });

  it('passes a body larger than the memory tier streamed and intact, chunked when the origin sends it chunked', async () => {
    origin.routes.set('/cached/big-chunked', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'max-age=60' });
      void writeChunks(res, 48, 64 * 1024);
    });
    const got = await fetchHashed(edge.url, '/cached/big-chunked');
    assert.equal(got.status, 200);
    assert.equal(got.headers['content-length'], undefined);
    assert.equal(got.headers['transfer-encoding'], 'chunked');
    assert.equal(got.bytes, 48 * 64 * 1024);
    assert.equal(got.sha256, expectedHash(48, 64 * 1024));
  });

  it('cuts the viewer connection when the origin fails mid-body, never ending it as if complete', async () => {
    origin.routes.set('/broken', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '1000000' });
      res.write(Buffer.alloc(10_000), () => res.destroy());
    });
    await assert.rejects(fetchHashed(edge.url, '/broken'), /aborted|socket hang up|ECONNRESET/);
  });
});

describe('edge: cache tiers, ranges and conditional requests', () => {
  let origin: Awaited<ReturnType<typeof startOrigin>>;
  let edge: EdgeServer;
  let functions: ConfigFunctionSource;
  let dir: string;
  let cacheDir: string;
  const MiB = 1024 * 1024;
  const lastModified = new Date(Date.UTC(2026, 0, 2, 3, 4, 5)).toUTCString();

  /** An origin path answering `body` with validators, cacheable for a minute, counted in origin.hits. */
  function serve(path: string, body: Buffer, extra: Record<string, string> = {}): void {
    origin.routes.set(path, (_req, res) => {
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'cache-control': 'max-age=60',
        'content-length': String(body.length),
        etag: `"${path}-v1"`,
        'last-modified': lastModified,
        ...extra,
      });
      res.end(body);
    });
  }

  before(async () => {
    origin = await startOrigin();
    dir = mkdtempSync(join(tmpdir(), 'openfront-tiers-'));
    cacheDir = join(dir, 'cache');
    mkdirSync(cacheDir);
    // Left by a crashed fill: the tier empties its directory when it starts, so it is never served.
    writeFileSync(join(cacheDir, 'fill-stale'), 'half an object');
    writeFileSync(join(cacheDir, 'obj-stale'), 'an object nobody indexed');
    const config = parseConfig(
      {
        server: { nodeId: 'tiers-test', cache: { memoryObjectBytes: 64 * 1024, diskBytes: 8 * MiB, maxObjectBytes: 4 * MiB, diskDir: 'cache' } },
        distributions: [
          {
            id: 'main',
            hostnames: ['*'],
            origins: [{ id: 'o', url: `http://127.0.0.1:${origin.port}` }],
            defaultBehavior: { origin: 'o', cachePolicy: 'CachingOptimized' },
          },
        ],
      },
      dir,
    );
    functions = await ConfigFunctionSource.create(config);
    edge = await startEdge({ config, functions, port: 0, cacheBytes: 1 << 20 });
  });

  after(async () => {
    await edge.close();
    functions.close();
    await new Promise<void>((resolve) => origin.server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('empties the disk directory at start: nothing a crash left behind is served', () => {
    assert.deepEqual(readdirSync(cacheDir), []);
  });

  it('keeps a body larger than the memory tier on disk, under its final name only when complete, and serves hits from it', async () => {
    const body = patterned(3 * MiB);
    serve('/disk/a', body);
    const first = await request(edge.url, '/disk/a');
    assert.equal(first.headers['x-cache'], 'Miss from openfront');
    assert.ok(first.body.equals(body));
    const second = await request(edge.url, '/disk/a');
    assert.equal(second.headers['x-cache'], 'Hit from openfront');
    assert.equal(second.headers['content-length'], String(body.length));
    assert.ok(second.body.equals(body));
    assert.equal(origin.hits.get('/disk/a'), 1);
    assert.equal(diskFiles(cacheDir, 'obj-').length, 1);
    assert.deepEqual(diskFiles(cacheDir, 'fill-'), []);
  });

  it('serves collapsed viewers a response that is still arriving, from one origin fetch', async () => {
    const body = patterned(2 * MiB);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    origin.routes.set('/disk/slow', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'max-age=60', 'content-length': String(body.length) });
      res.write(body.subarray(0, MiB));
      void released.then(() => res.end(body.subarray(MiB)));
    });
    const { hostname, port } = new URL(edge.url);
    const open = async (): Promise<IncomingMessage> => {
      const req = httpRequest({ hostname, port, path: '/disk/slow', agent: false });
      req.end();
      const [res] = (await once(req, 'response')) as [IncomingMessage];
      return res;
    };
    const leader = await open();
    await once(leader, 'readable');
    // The second viewer arrives while the origin still holds back the second half: it reads what is there.
    const follower = await open();
    assert.equal(follower.headers['content-length'], String(body.length));
    await once(follower, 'readable');
    release();
    const collect = async (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      for await (const chunk of res) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    };
    const [a, b] = await Promise.all([collect(leader), collect(follower)]);
    assert.ok(a.equals(body));
    assert.ok(b.equals(body));
    assert.equal(origin.hits.get('/disk/slow'), 1);
  });

  it('never keeps or serves an object whose origin failed mid-body', async () => {
    origin.routes.set('/disk/broken', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'max-age=60', 'content-length': String(2 * MiB) });
      res.write(Buffer.alloc(256 * 1024, 1), () => res.destroy());
    });
    await assert.rejects(request(edge.url, '/disk/broken'), /aborted|socket hang up|ECONNRESET/);
    await assert.rejects(request(edge.url, '/disk/broken'), /aborted|socket hang up|ECONNRESET/);
    assert.equal(origin.hits.get('/disk/broken'), 2);
  });

  it('streams an object larger than maxObjectBytes through without storing it', async () => {
    serve('/disk/huge', Buffer.alloc(5 * MiB, 9));
    for (let i = 0; i < 2; i++) {
      const got = await request(edge.url, '/disk/huge');
      assert.equal(got.headers['x-cache'], 'Miss from openfront');
      assert.equal(got.body.length, 5 * MiB);
    }
    assert.equal(origin.hits.get('/disk/huge'), 2);
  });

  it('evicts least recently used disk objects to stay within diskBytes', async () => {
    for (const name of ['e1', 'e2', 'e3', 'e4']) {
      serve(`/disk/${name}`, Buffer.alloc(3 * MiB, name.charCodeAt(1)));
      await request(edge.url, `/disk/${name}`);
    }
    const kept = diskFiles(cacheDir, 'obj-').reduce((sum, name) => sum + statSync(join(cacheDir, name)).size, 0);
    assert.ok(kept <= 8 * MiB, `disk tier holds ${kept} bytes`);
    const again = await request(edge.url, '/disk/e1');
    assert.equal(again.headers['x-cache'], 'Miss from openfront');
    assert.equal(origin.hits.get('/disk/e1'), 2);
  });

  it('drops disk objects on invalidation', async () => {
    serve('/disk/inv', patterned(MiB));
    await request(edge.url, '/disk/inv');
    assert.equal((await request(edge.url, '/disk/inv')).headers['x-cache'], 'Hit from openfront');
    assert.equal(edge.invalidate('main', ['/disk/inv']), 1);
    assert.equal((await request(edge.url, '/disk/inv')).headers['x-cache'], 'Miss from openfront');
  });

  for (const [tier, size] of [
    ['memory', 10_000],
    ['disk', 300_000],
  ] as const) {
    describe(`ranges and validators from the ${tier} tier`, () => {
      const path = `/ranges/${tier}`;
      const body = patterned(size);
      before(async () => {
        serve(path, body);
        await request(edge.url, path);
      });

      it('answers one range with 206 and its Content-Range (first-last, open-ended, suffix)', async () => {
        for (const [range, start, end] of [
          ['bytes=0-99', 0, 99],
          [`bytes=${size - 10}-`, size - 10, size - 1],
          ['bytes=-5', size - 5, size - 1],
          [`bytes=100-${size * 2}`, 100, size - 1],
        ] as const) {
          const got = await request(edge.url, path, { range });
          assert.equal(got.status, 206, range);
          assert.equal(got.headers['x-cache'], 'Hit from openfront');
          assert.equal(got.headers['content-range'], `bytes ${start}-${end}/${size}`);
          assert.equal(got.headers['content-length'], String(end - start + 1));
          assert.ok(got.body.equals(body.subarray(start, end + 1)), range);
        }
      });

      it('answers 416 with bytes */length for a range past the end', async () => {
        const got = await request(edge.url, path, { range: `bytes=${size}-` });
        assert.equal(got.status, 416);
        assert.equal(got.headers['content-range'], `bytes */${size}`);
        assert.equal(got.body.length, 0);
      });

      it('answers ascending ranges with multipart/byteranges, and the whole object for overlapping or too many ranges', async () => {
        const got = await request(edge.url, path, { range: 'bytes=0-9,100-109' });
        assert.equal(got.status, 206);
        const boundary = /boundary=([0-9a-f]+)/.exec(String(got.headers['content-type']))![1];
        assert.equal(got.headers['content-length'], String(got.body.length));
        const text = got.body.toString('latin1');
        const parts = text.split(`--${boundary}`).slice(1, -1);
        assert.equal(parts.length, 2);
        assert.match(parts[0], new RegExp(`Content-Range: bytes 0-9/${size}`));
        assert.ok(text.endsWith(`--${boundary}--\r\n`));
        assert.ok(Buffer.from(parts[1].split('\r\n\r\n')[1].slice(0, 10), 'latin1').equals(body.subarray(100, 110)));
        for (const range of ['bytes=0-99,50-60', 'bytes=100-109,0-9', `bytes=${Array.from({ length: 40 }, (_, i) => `${i * 2}-${i * 2}`).join(',')}`]) {
          const whole = await request(edge.url, path, { range });
          assert.equal(whole.status, 200, range.slice(0, 40));
          assert.equal(whole.body.length, size);
        }
      });

      it('answers 304 from the cache for a matching If-None-Match or a later If-Modified-Since, 200 otherwise', async () => {
        const etag = `"${path}-v1"`;
        const match = await request(edge.url, path, { 'if-none-match': `"other", W/${etag}` });
        assert.equal(match.status, 304);
        assert.equal(match.headers.etag, etag);
        assert.equal(match.body.length, 0);
        assert.equal((await request(edge.url, path, { 'if-none-match': '"other"' })).status, 200);
        assert.equal((await request(edge.url, path, { 'if-modified-since': new Date(Date.parse(lastModified) + 1000).toUTCString() })).status, 304);
        assert.equal((await request(edge.url, path, { 'if-modified-since': new Date(Date.parse(lastModified) - 1000).toUTCString() })).status, 200);
        const stale = await request(edge.url, path, { range: 'bytes=0-9', 'if-range': '"old"' });
        assert.equal(stale.status, 200);
        assert.equal((await request(edge.url, path, { range: 'bytes=0-9', 'if-range': etag })).status, 206);
        assert.equal(origin.hits.get(path), 1);
      });
    });
  }

  it('passes Range and validators to the origin on a miss and does not store its 206 or 304', async () => {
    let seen: IncomingMessage['headers'] = {};
    origin.routes.set('/miss/range', (req, res) => {
      seen = req.headers;
      if (req.headers.range === 'bytes=0-3')
        res.writeHead(206, { 'content-range': 'bytes 0-3/10', 'cache-control': 'max-age=60', 'content-length': '4' }).end('abcd');
      else if (req.headers['if-none-match'] === '"x"') res.writeHead(304, { etag: '"x"', 'cache-control': 'max-age=60' }).end();
      else res.writeHead(200, { 'cache-control': 'max-age=60', 'content-length': '10', etag: '"x"' }).end('abcdefghij');
    });
    const partial = await request(edge.url, '/miss/range', { range: 'bytes=0-3' });
    assert.equal(partial.status, 206);
    assert.equal(partial.headers['content-range'], 'bytes 0-3/10');
    assert.equal(seen.range, 'bytes=0-3');
    const conditional = await request(edge.url, '/miss/range', { 'if-none-match': '"x"' });
    assert.equal(conditional.status, 304);
    assert.equal(seen['if-none-match'], '"x"');
    const whole = await request(edge.url, '/miss/range');
    assert.equal(whole.status, 200);
    assert.equal(whole.body.toString(), 'abcdefghij');
    assert.equal(origin.hits.get('/miss/range'), 3);
  });
});
