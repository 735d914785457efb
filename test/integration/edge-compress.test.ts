/**
 * CloudFront's automatic compression through the edge against a real origin on loopback (docs/edge.md,
 * "Compression"): the normalised Accept-Encoding reaches the origin and the cache key, brotli wins over gzip, only
 * CloudFront's types and its 1,000 B – 10 MB window are compressed (the bound against compressing without end), and
 * the ETag turns weak.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, request as httpRequest, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import zlib from 'node:zlib';
import { parseConfig } from '../../src/config/load.js';
import { startEdge, type EdgeServer } from '../../src/edge/edge-server.js';
import { ConfigFunctionSource } from '../../src/edge/function-source.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function get(port: number, path: string, acceptEncoding?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { host: 'zip.test' };
    if (acceptEncoding !== undefined) headers['accept-encoding'] = acceptEncoding;
    const req = httpRequest({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

const PAGE = '<html><body>' + 'compress me please '.repeat(300) + '</body></html>';
const BIG = 'a'.repeat(10_000_001);

describe('edge: compression', () => {
  const seen: Array<{ path: string; acceptEncoding: string | undefined }> = [];
  /** Sends `body` with its Content-Length: CloudFront compresses only responses that declare one. */
  const answer = (res: ServerResponse, status: number, headers: Record<string, string>, body: string | Buffer) => {
    res.writeHead(status, { ...headers, 'content-length': String(Buffer.byteLength(body)) });
    res.end(body);
  };
  const origin = createServer((req, res) => {
    const path = req.url ?? '/';
    seen.push({ path, acceptEncoding: req.headers['accept-encoding'] });
    if (path.startsWith('/png')) return answer(res, 200, { 'content-type': 'image/png', etag: '"p"' }, Buffer.alloc(5_000, 1));
    if (path.startsWith('/small')) return answer(res, 200, { 'content-type': 'text/html' }, '<p>tiny</p>');
    if (path.startsWith('/big')) return answer(res, 200, { 'content-type': 'text/plain' }, BIG);
    if (path.startsWith('/chunked')) {
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end(PAGE);
    }
    if (path.startsWith('/encoded')) return answer(res, 200, { 'content-type': 'text/html', 'content-encoding': 'gzip' }, zlib.gzipSync(PAGE));
    answer(res, path.startsWith('/missing') ? 404 : 200, { 'content-type': 'text/html; charset=utf-8', etag: '"v1"' }, PAGE);
  });
  let edge: EdgeServer;
  let functions: ConfigFunctionSource;

  before(async () => {
    origin.listen(0, '127.0.0.1');
    await once(origin, 'listening');
    const url = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
    const config = parseConfig(
      {
        cachePolicies: [{ name: 'GzipOnly', enableAcceptEncodingGzip: true }],
        distributions: [
          {
            id: 'd',
            hostnames: ['zip.test'],
            origins: [{ id: 'app', url }],
            defaultBehavior: { origin: 'app', compress: true },
            behaviors: [
              { pathPattern: '/plain/*', origin: 'app' },
              { pathPattern: '/gzip-only/*', origin: 'app', compress: true, cachePolicy: 'GzipOnly' },
            ],
          },
        ],
      },
      '/tmp',
    );
    functions = await ConfigFunctionSource.create(config);
    edge = await startEdge({ config, functions, port: 0 });
  });

  after(async () => {
    await edge.close();
    functions.close();
    origin.close();
  });

  it('compresses with brotli when the viewer offers br and gzip, and weakens the ETag', async () => {
    const reply = await get(edge.port, '/page', 'gzip, deflate, br');
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['content-encoding'], 'br');
    assert.equal(reply.headers.etag, 'W/"v1"');
    assert.equal(reply.headers.vary, 'Accept-Encoding');
    assert.equal(zlib.brotliDecompressSync(reply.body).toString(), PAGE);
    assert.equal(seen.at(-1)?.acceptEncoding, 'br,gzip', 'the origin gets the normalised value');
  });

  it('keeps one cached copy per normalised encoding', async () => {
    const before = seen.length;
    const gz = await get(edge.port, '/page', 'gzip');
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.equal(zlib.gunzipSync(gz.body).toString(), PAGE);
    const identity = await get(edge.port, '/page');
    assert.equal(identity.headers['content-encoding'], undefined);
    assert.equal(identity.body.toString(), PAGE);
    assert.equal(identity.headers.etag, '"v1"');
    assert.equal(seen.length, before + 2, 'gzip and identity were two more misses');
    assert.equal(seen.at(-1)?.acceptEncoding, 'identity');
    const again = await get(edge.port, '/page', 'br, gzip');
    assert.equal(again.headers['x-cache'], 'Hit from openfront');
    assert.equal(again.headers['content-encoding'], 'br');
    assert.equal(zlib.brotliDecompressSync(again.body).toString(), PAGE);
  });

  it('compresses a 404 too, but not types outside the list nor bodies under 1,000 bytes', async () => {
    assert.equal((await get(edge.port, '/missing', 'gzip')).headers['content-encoding'], 'gzip');
    const png = await get(edge.port, '/png', 'gzip');
    assert.equal(png.headers['content-encoding'], undefined);
    assert.equal(png.headers.etag, '"p"');
    assert.equal((await get(edge.port, '/small', 'gzip')).headers['content-encoding'], undefined);
  });

  it('does not compress past 10,000,000 bytes: the body goes through as the origin sent it', async () => {
    const reply = await get(edge.port, '/big', 'gzip');
    assert.equal(reply.headers['content-encoding'], undefined);
    assert.equal(reply.body.length, BIG.length);
  });

  it('does not compress a response without Content-Length (chunked), as CloudFront', async () => {
    const reply = await get(edge.port, '/chunked', 'gzip');
    assert.equal(reply.headers['content-encoding'], undefined);
    assert.equal(reply.body.toString(), PAGE);
  });

  it('passes an origin-encoded response through as it is', async () => {
    const reply = await get(edge.port, '/encoded', 'gzip, br');
    assert.equal(reply.headers['content-encoding'], 'gzip');
    assert.equal(zlib.gunzipSync(reply.body).toString(), PAGE);
  });

  it('does not compress for a behavior without compress, and uses gzip only when the policy enables only gzip', async () => {
    assert.equal((await get(edge.port, '/plain/page', 'gzip, br')).headers['content-encoding'], undefined);
    const gz = await get(edge.port, '/gzip-only/page', 'gzip, br');
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.equal(seen.at(-1)?.acceptEncoding, 'gzip');
  });
});
