/**
 * Edge baseline (bench child): a plain `node:http` server + `undici` pool making the bench's decision in plain
 * JavaScript, no sandbox, no cache: host → tenant from the table, `redirect:<tenant><uri>` → 301 with that location,
 * otherwise proxy to the origin with `x-tenant` added. What OpenFront's edge is compared against.
 *
 *   node dist/bench/edge-baseline/node-proxy.js --origin http://127.0.0.1:PORT --table table.json
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { Pool } from 'undici';
import { childArgs, requiredArg, serveInChild } from '../helpers/child-runtime.js';

/** Hop-by-hop headers (RFC 9110 §7.6.1) and Host, which the pool sets to the origin's. */
const NOT_FORWARDED = new Set(['host', 'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

function forwardable(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !NOT_FORWARDED.has(name)) out[name] = value;
  return out;
}

const args = childArgs();
const table = new Map<string, string>(Object.entries(JSON.parse(readFileSync(requiredArg(args, 'table'), 'utf8')) as Record<string, string>));
const origin = new Pool(requiredArg(args, 'origin'), { connections: 128 });

await serveInChild(async () => {
  const server = createServer({ keepAliveTimeout: 5_000 }, (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const uri = q === -1 ? url : url.slice(0, q);
    const tenant = table.get(`tenant:${req.headers.host ?? ''}`);
    if (tenant === undefined) {
      // What the OpenFront function does for an unknown host: kvs.get rejects, the edge answers 503.
      res.writeHead(503, { 'content-length': '0' }).end();
      return;
    }
    const location = table.get(`redirect:${tenant}${uri}`);
    if (location !== undefined) {
      res.writeHead(301, { location, 'content-length': '0' }).end();
      return;
    }
    const headers = forwardable(req.headers);
    headers['x-tenant'] = tenant;
    const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    origin
      .request({ method: req.method as 'GET', path: url, headers, body: hasBody ? req : undefined })
      .then(async (answer) => {
        const out: Record<string, string | string[]> = {};
        for (const [name, value] of Object.entries(answer.headers)) if (value !== undefined && !NOT_FORWARDED.has(name)) out[name] = value;
        res.writeHead(answer.statusCode, out);
        await pipeline(answer.body, res);
      })
      .catch(() => {
        if (!res.headersSent) res.writeHead(502, { 'content-length': '0' });
        res.end();
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await origin.close();
    },
  };
});
