/**
 * Streamed bodies through a real edge in front of real origins on 127.0.0.1: bytes reach the viewer before the
 * origin has finished, a viewer that goes away releases the origin, and an upload reaches the origin while the
 * viewer is still sending it. Every wait is for an event, never a timer.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { startEdge, type EdgeServer } from '../../src/edge/edge-server.js';
import { ConfigFunctionSource } from '../../src/edge/function-source.js';

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
