/**
 * CloudFront's custom error responses and error caching against real origins on loopback (docs/edge.md, "Custom
 * error responses and error caching"): the page is fetched through the behavior its path matches and served with
 * the configured status; origin errors are cached per CloudFront's rules for ErrorCachingMinTTL; a page that cannot
 * be had (its origin fails, it is over 1 MiB) leaves the viewer with the original error; function-generated errors
 * are left alone.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { MAX_ERROR_PAGE_BYTES } from '../../src/edge/custom-errors.js';
import { startEdge, type EdgeServer } from '../../src/edge/edge-server.js';
import { ConfigFunctionSource } from '../../src/edge/function-source.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function send(port: number, path: string, method = 'GET', headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method, headers: { host: 'errors.test', ...headers }, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end();
  });
}

const PAGE_404 = '<html><body>Sorry, not here.</body></html>';
const PAGE_5XX = '<html><body>We are fixing it.</body></html>';
const HUGE = 'x'.repeat(MAX_ERROR_PAGE_BYTES + 1);

/** Origin answers by path; `hits` counts what reached it. */
const ANSWERS: Record<string, { status: number; headers?: Record<string, string>; body: string }> = {
  '/missing': { status: 404, body: 'origin 404' },
  '/missing-long': { status: 404, headers: { 'cache-control': 'max-age=60' }, body: 'origin 404 for a minute' },
  '/boom': { status: 500, body: 'origin 500' },
  '/busy': { status: 503, body: 'origin 503' },
  '/slow': { status: 504, body: 'origin 504' },
  '/forbidden': { status: 403, body: 'origin 403' },
  '/forbidden-cc': { status: 403, headers: { 'cache-control': 'max-age=60' }, body: 'origin 403 cacheable' },
  '/range': { status: 416, headers: { 'cache-control': 'max-age=60' }, body: 'origin 416' },
  '/errors/404.html': { status: 200, headers: { 'content-type': 'text/html' }, body: PAGE_404 },
  '/errors/5xx.html': { status: 200, headers: { 'content-type': 'text/html' }, body: PAGE_5XX },
  '/errors/huge.html': { status: 200, headers: { 'content-type': 'text/html' }, body: HUGE },
};

describe('edge: custom error responses and error caching', () => {
  const hits = new Map<string, number>();
  const origin = createServer((req, res) => {
    const path = req.url ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const answer = ANSWERS[path] ?? { status: 404, body: `no ${path}` };
    res.writeHead(answer.status, { 'content-type': 'text/plain', ...answer.headers });
    res.end(answer.body);
  });
  let clock = 1_000_000;
  let dir: string;
  let edge: EdgeServer;
  let functions: ConfigFunctionSource;

  before(async () => {
    origin.listen(0, '127.0.0.1');
    await once(origin, 'listening');
    const url = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
    dir = mkdtempSync(join(tmpdir(), 'openfront-custom-errors-'));
    mkdirSync(join(dir, 'static', 'static-errors'), { recursive: true });
    writeFileSync(join(dir, 'static', 'static-errors', 'huge.html'), HUGE);
    writeFileSync(join(dir, 'fn.js'), `function handler(event) { return { statusCode: 404, statusDescription: 'Not Found', body: 'fn 404' }; }`);
    const config = parseConfig(
      {
        functions: [{ name: 'fn', code: 'fn.js' }],
        distributions: [
          {
            id: 'd',
            hostnames: ['errors.test'],
            origins: [
              { id: 'app', url },
              { id: 'dead', url: 'http://127.0.0.1:9', connectionAttempts: 1 },
              { id: 'files', static: 'static' },
            ],
            defaultBehavior: { origin: 'app' },
            behaviors: [
              { pathPattern: '/dead/*', origin: 'dead' },
              { pathPattern: '/static-errors/*', origin: 'files' },
              { pathPattern: '/fn/*', origin: 'app', functionAssociations: { 'viewer-request': 'fn' } },
            ],
            customErrorResponses: [
              { errorCode: 404, responsePagePath: '/errors/404.html', responseCode: 404 },
              { errorCode: 500, responsePagePath: '/errors/5xx.html', responseCode: 503, errorCachingMinTtl: 30 },
              { errorCode: 502, responsePagePath: '/errors/5xx.html', responseCode: 200 },
              { errorCode: 503, responsePagePath: '/errors/huge.html', responseCode: 503 },
              { errorCode: 504, responsePagePath: '/errors/not-there.html', responseCode: 200 },
              { errorCode: 416, responsePagePath: '/static-errors/huge.html', responseCode: 416 },
              { errorCode: 403, errorCachingMinTtl: 60 },
            ],
          },
        ],
      },
      dir,
    );
    functions = await ConfigFunctionSource.create(config, { limits: { killAfterMicros: 2_000_000 } });
    edge = await startEdge({ config, functions, port: 0, now: () => clock });
  });

  after(async () => {
    await edge.close();
    functions.close();
    origin.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the custom page with the configured status in place of the origin error, and caches both', async () => {
    const first = await send(edge.port, '/missing');
    assert.equal(first.status, 404);
    assert.equal(first.body, PAGE_404);
    assert.equal(first.headers['content-type'], 'text/html');
    assert.equal(first.headers['x-cache'], 'Error from openfront');
    const second = await send(edge.port, '/missing');
    assert.equal(second.body, PAGE_404);
    assert.equal(hits.get('/missing'), 1, 'the 404 is cached');
    assert.equal(hits.get('/errors/404.html'), 1, 'the page is cached under its own behavior');
  });

  it('caches a 404 for 10 s by default, and for the origin max-age when that is longer', async () => {
    await send(edge.port, '/missing-long');
    clock += 11_000;
    await send(edge.port, '/missing');
    assert.equal(hits.get('/missing'), 2, 'refetched after the 10 s ErrorCachingMinTTL');
    await send(edge.port, '/missing-long');
    assert.equal(hits.get('/missing-long'), 1, 'max-age=60 keeps it longer');
  });

  it('remaps the status (500 → 503 with the page) and caches the error for its errorCachingMinTtl (30 s)', async () => {
    const reply = await send(edge.port, '/boom');
    assert.equal(reply.status, 503);
    assert.equal(reply.body, PAGE_5XX);
    clock += 20_000;
    await send(edge.port, '/boom');
    assert.equal(hits.get('/boom'), 1);
    clock += 11_000;
    await send(edge.port, '/boom');
    assert.equal(hits.get('/boom'), 2);
  });

  it('caches a 403 only when the origin sends max-age (then for at least errorCachingMinTtl)', async () => {
    await send(edge.port, '/forbidden');
    await send(edge.port, '/forbidden');
    assert.equal(hits.get('/forbidden'), 2);
    assert.equal((await send(edge.port, '/forbidden-cc')).status, 403);
    clock += 59_000;
    await send(edge.port, '/forbidden-cc');
    assert.equal(hits.get('/forbidden-cc'), 1);
  });

  it('never caches a 416', async () => {
    await send(edge.port, '/range');
    await send(edge.port, '/range');
    assert.equal(hits.get('/range'), 2);
  });

  it('serves a custom page for an unreachable origin (the edge-generated 502)', async () => {
    const reply = await send(edge.port, '/dead/x');
    assert.equal(reply.status, 200);
    assert.equal(reply.body, PAGE_5XX);
  });

  it('sends the original error when the custom page is over 1 MiB (custom origin and static origin)', async () => {
    const reply = await send(edge.port, '/busy');
    assert.equal(reply.status, 503);
    assert.equal(reply.body, 'origin 503');
    const range = await send(edge.port, '/range');
    assert.equal(range.status, 416);
    assert.equal(range.body, 'origin 416');
  });

  it("sends the page origin's own error when the page is missing", async () => {
    const reply = await send(edge.port, '/slow');
    assert.equal(reply.status, 404);
    assert.equal(reply.body, 'no /errors/not-there.html');
  });

  it('answers HEAD with the page status and length but no body', async () => {
    const reply = await send(edge.port, '/missing', 'HEAD');
    assert.equal(reply.status, 404);
    assert.equal(reply.body, '');
    assert.equal(reply.headers['content-length'], String(Buffer.byteLength(PAGE_404)));
  });

  it('leaves an error a viewer-request function generates alone (as CloudFront does)', async () => {
    const reply = await send(edge.port, '/fn/anything');
    assert.equal(reply.status, 404);
    assert.equal(reply.body, 'fn 404');
  });
});
