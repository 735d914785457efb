/**
 * Bench child: the origin every edge target proxies to. Answers 200 with a small body (and the `x-tenant` it
 * received echoed as `x-origin-saw-tenant`, so the bench can check each target made the same decision), or a
 * 16 KiB body under `/asset/` for the cache-memory workload. Everything is cacheable for a minute.
 */
import { createServer } from 'node:http';
import { listenLoopback, serveInChild } from './child-runtime.js';
import { ASSET_BYTES } from './load.js';

const SMALL_BODY = Buffer.from('hello from the bench origin\n');
const ASSET_BODY = Buffer.alloc(ASSET_BYTES, 'a');

await serveInChild(async () => {
  const server = createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
    const body = req.url?.startsWith('/asset/') ? ASSET_BODY : SMALL_BODY;
    const tenant = req.headers['x-tenant'];
    res.writeHead(200, {
      'content-type': 'text/plain',
      'content-length': String(body.length),
      'cache-control': 'public, max-age=60',
      ...(typeof tenant === 'string' ? { 'x-origin-saw-tenant': tenant } : {}),
    });
    res.end(body);
  });
  return listenLoopback(server);
});
