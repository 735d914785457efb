/**
 * Memory bound of streamed bodies (issue 16): a 1 GiB download, cacheable (written to the disk tier, with a
 * Content-Length and chunked) and not, and
 * a 50 MB upload through the edge grow the edge's RSS by less than 64 MiB. The edge runs in a child process and
 * reports its own peak RSS (VmHWM after resetting the mark); the origin generates the bytes in this process.
 */
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./fixtures/edge-memory-child.js', import.meta.url));
const MiB = 1024 * 1024;
const DOWNLOAD_BYTES = 1024 * MiB;
const UPLOAD_BYTES = 50 * 1000 * 1000;
const GROWTH_LIMIT = 64 * MiB;
const CHUNK = Buffer.alloc(64 * 1024, 0x5a);

async function generate(res: ServerResponse, total: number): Promise<void> {
  let left = total;
  while (left > 0 && !res.destroyed) {
    const chunk = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
    left -= chunk.length;
    if (!res.write(chunk)) await once(res, 'drain');
  }
  res.end();
}

function ask<T>(child: ChildProcess, message: string): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', (reply) => resolve(reply as T));
    child.send(message);
  });
}

describe('edge memory: streamed bodies keep RSS bounded', { timeout: 600_000 }, () => {
  let origin: Server;
  let child: ChildProcess;
  let edgePort: number;
  let dir: string;
  let uploaded = 0;

  before(async () => {
    origin = createServer((req, res) => {
      if (req.url === '/upload') {
        req.on('data', (chunk: Buffer) => (uploaded += chunk.length));
        req.on('end', () => res.writeHead(200, { 'content-type': 'text/plain' }).end(String(uploaded)));
        return;
      }
      const cacheable = req.url === '/cached/big' || req.url === '/cached/chunked';
      // /cached/chunked has no Content-Length: it is sent chunked and reserved in the disk tier as it grows.
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        ...(req.url === '/cached/chunked' ? {} : { 'content-length': String(DOWNLOAD_BYTES) }),
        'cache-control': cacheable ? 'max-age=600' : 'no-store',
      });
      void generate(res, DOWNLOAD_BYTES);
    });
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
    const originPort = (origin.address() as AddressInfo).port;
    dir = mkdtempSync(join(tmpdir(), 'openfront-memory-'));
    const config = {
      server: { nodeId: 'memory-test', cache: { diskBytes: DOWNLOAD_BYTES + 64 * MiB, maxObjectBytes: DOWNLOAD_BYTES + MiB, diskDir: 'cache' } },
      distributions: [
        {
          id: 'main',
          hostnames: ['*'],
          origins: [{ id: 'o', url: `http://127.0.0.1:${originPort}` }],
          defaultBehavior: { origin: 'o', cachePolicy: 'CachingDisabled' },
          behaviors: [{ pathPattern: '/cached/*', origin: 'o', cachePolicy: 'CachingOptimized' }],
        },
      ],
    };
    child = fork(CHILD, [JSON.stringify(config), dir], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    edgePort = (await new Promise<{ port: number }>((resolve) => child.once('message', (m) => resolve(m as { port: number })))).port;
  });

  after(async () => {
    child.send('close');
    await once(child, 'exit');
    await new Promise<void>((resolve) => origin.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  async function growth(t: TestContext, transfer: () => Promise<number>, expectedBytes: number): Promise<void> {
    const base = await ask<{ rss: number }>(child, 'reset');
    const moved = await transfer();
    assert.equal(moved, expectedBytes);
    const peak = await ask<{ peak: number; source: string; heapUsed: number; external: number; arrayBuffers: number }>(child, 'peak');
    const grown = peak.peak - base.rss;
    t.diagnostic(
      `edge RSS ${(base.rss / MiB).toFixed(1)} MiB before, peak ${(peak.peak / MiB).toFixed(1)} MiB (${peak.source}): +${(grown / MiB).toFixed(1)} MiB; ` +
        `highest sampled heap used ${(peak.heapUsed / MiB).toFixed(1)} MiB, external ${(peak.external / MiB).toFixed(1)} MiB, of which buffers ${(peak.arrayBuffers / MiB).toFixed(1)} MiB`,
    );
    assert.ok(grown < GROWTH_LIMIT, `edge RSS grew by ${(grown / MiB).toFixed(1)} MiB (${peak.source}), limit ${GROWTH_LIMIT / MiB} MiB`);
  }

  /** X-Cache of the last download: a second download of a cached object must be a hit from the disk tier. */
  let lastXCache: string | string[] | undefined;

  function download(path: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: edgePort, path, agent: false }, (res) => {
        lastXCache = res.headers['x-cache'];
        let bytes = 0;
        res.on('data', (chunk: Buffer) => (bytes += chunk.length));
        res.on('end', () => resolve(bytes));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  }

  // The first test in the child: the growth includes the edge's first streamed body (code compiled, allocator arenas
  // grown), not only what the body itself holds. Dead socket buffers are collected every few MiB (stream-garbage.ts).
  it('a 1 GiB uncacheable download', async (t) => {
    await growth(t, () => download('/big'), DOWNLOAD_BYTES);
  });

  it('a 1 GiB cacheable download (written to the disk tier), then the same served from disk', async (t) => {
    await growth(t, () => download('/cached/big'), DOWNLOAD_BYTES);
    await growth(t, () => download('/cached/big'), DOWNLOAD_BYTES);
    assert.equal(lastXCache, 'Hit from openfront');
  });

  it('a 1 GiB chunked cacheable download (written to the disk tier as it grows), then the same served from disk', async (t) => {
    await growth(t, () => download('/cached/chunked'), DOWNLOAD_BYTES);
    assert.equal(lastXCache, 'Miss from openfront');
    await growth(t, () => download('/cached/chunked'), DOWNLOAD_BYTES);
    assert.equal(lastXCache, 'Hit from openfront');
  });

  it('a 50 MB upload', async (t) => {
    uploaded = 0;
    await growth(
      t,
      () =>
        new Promise<number>((resolve, reject) => {
          const req = httpRequest(
            { host: '127.0.0.1', port: edgePort, path: '/upload', method: 'POST', agent: false, headers: { 'content-length': String(UPLOAD_BYTES) } },
            (res) => {
              let text = '';
              res.on('data', (chunk: Buffer) => (text += String(chunk)));
              res.on('end', () => resolve(Number(text)));
            },
          );
          req.on('error', reject);
          void (async () => {
            let left = UPLOAD_BYTES;
            while (left > 0) {
              const chunk = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
              left -= chunk.length;
              if (!req.write(chunk)) await once(req, 'drain');
            }
            req.end();
          })();
        }),
      UPLOAD_BYTES,
    );
  });
});
