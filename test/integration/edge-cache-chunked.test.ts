/**
 * Chunked origin bodies (no Content-Length) into the disk tier, through a real edge in front of a real origin on
 * 127.0.0.1 (docs/edge.md, "Cache"): kept when complete, served as hits from disk; a body past maxObjectBytes or
 * past the room the tier has is streamed whole to every viewer reading it and not kept; an origin failure keeps
 * nothing. Every wait is for an event, never a timer.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
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

const MiB = 1024 * 1024;
const PIECE = 64 * 1024;

describe('edge: chunked bodies into the disk tier', () => {
  let origin: Server;
  const routes = new Map<string, Handler>();
  const hits = new Map<string, number>();
  let edge: EdgeServer;
  let functions: ConfigFunctionSource;
  let dir: string;
  let cacheDir: string;

  before(async () => {
    origin = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      hits.set(path, (hits.get(path) ?? 0) + 1);
      const handler = routes.get(path);
      if (handler === undefined) res.writeHead(404).end();
      else handler(req, res);
    });
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
    dir = mkdtempSync(join(tmpdir(), 'openfront-chunked-'));
    cacheDir = join(dir, 'cache');
    const config = parseConfig(
      {
        server: { nodeId: 'chunked-test', cache: { memoryObjectBytes: 64 * 1024, diskBytes: 12 * MiB, maxObjectBytes: 8 * MiB, diskDir: 'cache' } },
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
    edge = await startEdge({ config, functions, port: 0, cacheBytes: 1 << 20 });
  });

  after(async () => {
    await edge.close();
    functions.close();
    await new Promise<void>((resolve) => origin.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * Answers `body` chunked (no Content-Length), cacheable for a minute. With `gate`, the origin sends the first
   * MiB and holds the rest until the gate opens.
   */
  function serveChunked(path: string, body: Buffer, gate?: Promise<void>): void {
    routes.set(path, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'max-age=60', etag: `"${path}"` });
      void (async () => {
        for (let offset = 0; offset < body.length && !res.destroyed; offset += PIECE) {
          if (gate !== undefined && offset === MiB) await gate;
          if (!res.write(body.subarray(offset, offset + PIECE))) await once(res, 'drain');
        }
        res.end();
      })();
    });
  }

  function open(path: string): Promise<IncomingMessage> {
    const { hostname, port } = new URL(edge.url);
    const req = httpRequest({ hostname, port, path, agent: false });
    req.end();
    return once(req, 'response').then(([res]) => res as IncomingMessage);
  }

  it('keeps a chunked body larger than the memory tier on disk and serves the next GET from there, byte for byte', async () => {
    const body = patterned(5 * 1000 * 1000);
    serveChunked('/chunked/five', body);
    const first = await request(edge.url, '/chunked/five');
    assert.equal(first.headers['x-cache'], 'Miss from openfront');
    assert.equal(first.headers['transfer-encoding'], 'chunked');
    assert.ok(first.body.equals(body));
    const second = await request(edge.url, '/chunked/five');
    assert.equal(second.headers['x-cache'], 'Hit from openfront');
    assert.equal(second.headers['content-length'], String(body.length));
    assert.ok(second.body.equals(body));
    assert.equal(hits.get('/chunked/five'), 1);
    const kept = diskFiles(cacheDir, 'obj-').map((name) => statSync(join(cacheDir, name)).size);
    assert.deepEqual(kept, [body.length]);
    assert.deepEqual(diskFiles(cacheDir, 'fill-'), []);
  });

  it('answers ranges from a chunked-filled object as from any cached object', async () => {
    const size = 5 * 1000 * 1000;
    const body = patterned(size);
    const got = await request(edge.url, '/chunked/five', { range: 'bytes=1000-1999' });
    assert.equal(got.status, 206);
    assert.equal(got.headers['x-cache'], 'Hit from openfront');
    assert.equal(got.headers['content-range'], `bytes 1000-1999/${size}`);
    assert.ok(got.body.equals(body.subarray(1000, 2000)));
    const tail = await request(edge.url, '/chunked/five', { range: `bytes=${size}-` });
    assert.equal(tail.status, 416);
    assert.equal(hits.get('/chunked/five'), 1);
  });

  it('serves collapsed viewers of a chunked fill identical bytes from one origin fetch', async () => {
    const body = patterned(3 * MiB + 123);
    let release!: () => void;
    serveChunked('/chunked/collapsed', body, new Promise<void>((resolve) => (release = resolve)));
    const leader = await open('/chunked/collapsed');
    await once(leader, 'readable');
    // The origin holds back all but the first MiB: the second viewer joins the fill while it grows.
    const follower = await open('/chunked/collapsed');
    assert.equal(follower.headers['x-cache'], 'Hit from openfront');
    assert.equal(follower.headers['content-length'], undefined);
    await once(follower, 'readable');
    release();
    const [a, b] = await Promise.all([collect(leader), collect(follower)]);
    assert.ok(a.equals(body));
    assert.ok(b.equals(body));
    assert.equal(hits.get('/chunked/collapsed'), 1);
    assert.equal((await request(edge.url, '/chunked/collapsed')).headers['x-cache'], 'Hit from openfront');
  });

  it('streams a chunked body past maxObjectBytes whole and does not keep it', async () => {
    const body = patterned(9 * MiB);
    serveChunked('/chunked/huge', body);
    for (let i = 0; i < 2; i++) {
      const got = await request(edge.url, '/chunked/huge');
      assert.equal(got.headers['x-cache'], 'Miss from openfront');
      assert.ok(got.body.equals(body));
    }
    assert.equal(hits.get('/chunked/huge'), 2);
    await until(() => diskFiles(cacheDir, 'fill-').length === 0);
    for (const name of diskFiles(cacheDir, 'obj-')) assert.notEqual(statSync(join(cacheDir, name)).size, body.length);
  });

  it('when the tier runs out of room mid-body, streams the rest to every viewer already reading and keeps nothing', async () => {
    // A 7 MiB fill with a Content-Length held half way: its reservation leaves 5 MiB of the 12 MiB budget.
    const held = patterned(7 * MiB);
    let releaseHeld!: () => void;
    const heldGate = new Promise<void>((resolve) => (releaseHeld = resolve));
    routes.set('/chunked/held', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'max-age=60', 'content-length': String(held.length) });
      res.write(held.subarray(0, MiB));
      void heldGate.then(() => res.end(held.subarray(MiB)));
    });
    const holder = await open('/chunked/held');
    await once(holder, 'readable');

    const body = patterned(7 * MiB + 5);
    let release!: () => void;
    serveChunked('/chunked/roomless', body, new Promise<void>((resolve) => (release = resolve)));
    const leader = await open('/chunked/roomless');
    await once(leader, 'readable');
    const follower = await open('/chunked/roomless');
    await once(follower, 'readable');
    release();
    // 4 MiB reserved at the start fit; the next 4 MiB do not: the fill stops and both viewers get the rest anyway.
    const [a, b] = await Promise.all([collect(leader), collect(follower)]);
    assert.ok(a.equals(body));
    assert.ok(b.equals(body));
    assert.equal(hits.get('/chunked/roomless'), 1);
    const again = await request(edge.url, '/chunked/roomless');
    assert.equal(again.headers['x-cache'], 'Miss from openfront');
    assert.ok(again.body.equals(body));
    assert.equal(hits.get('/chunked/roomless'), 2);

    releaseHeld();
    assert.ok((await collect(holder)).equals(held));
  });

  it('keeps nothing when the origin dies mid-chunked-body, and cuts the viewer', async () => {
    routes.set('/chunked/broken', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'max-age=60' });
      res.write(patterned(2 * MiB), () => res.destroy());
    });
    await assert.rejects(request(edge.url, '/chunked/broken'), /aborted|socket hang up|ECONNRESET/);
    await assert.rejects(request(edge.url, '/chunked/broken'), /aborted|socket hang up|ECONNRESET/);
    assert.equal(hits.get('/chunked/broken'), 2);
    await until(() => diskFiles(cacheDir, 'fill-').length === 0);
  });
});

async function collect(res: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Waits for an unlink the edge started without awaiting it (a few turns of the event loop). */
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !condition(); i++) await new Promise((resolve) => setImmediate(resolve));
  assert.ok(condition());
}
