/**
 * Edge baseline (bench child): a plain `node:http` server + `undici` pool making the bench's decision in plain
 * JavaScript, no sandbox, no cache: host → tenant from the table, `redirect:<tenant><uri>` → 301 with that location,
 * otherwise proxy to the origin with `x-tenant` added. What OpenFront's edge is compared against.
 *
 *   node dist/bench/edge-baseline/node-proxy.js --origin http://127.0.0.1:PORT --table table.json
 *
 * With `--tls-cert f --tls-key f` it terminates TLS instead, with `http2.createSecureServer({ allowHTTP1: true })`:
 * HTTP/2 or HTTP/1.1 by ALPN, as OpenFront's HTTPS listener does.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { createSecureServer, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { Pool } from 'undici';
import { childArgs, requiredArg, serveInChild } from '../helpers/child-runtime.js';

/** Hop-by-hop headers (RFC 9110 §7.6.1) and Host, which the pool sets to the origin's. */
const NOT_FORWARDED = new Set(['host', 'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

function forwardable(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  // HTTP/2 pseudo-headers (':path', …) are not headers to forward.
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !NOT_FORWARDED.has(name) && name[0] !== ':') out[name] = value;
  return out;
}

const args = childArgs();
const table = new Map<string, string>(Object.entries(JSON.parse(readFileSync(requiredArg(args, 'table'), 'utf8')) as Record<string, string>));
const origin = new Pool(requiredArg(args, 'origin'), { connections: 128 });

await serveInChild(async () => {
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const uri = q === -1 ? url : url.slice(0, q);
    const host = req.headers.host ?? (req.headers[':authority'] as string | undefined) ?? '';
    const tenant = table.get(`tenant:${host}`);
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
  };
  const tlsCert = args.get('tls-cert');
  const tlsKey = args.get('tls-key');
  const server =
    tlsCert !== undefined && tlsKey !== undefined
      ? createSecureServer({ cert: readFileSync(tlsCert), key: readFileSync(tlsKey), allowHTTP1: true }, (req: Http2ServerRequest, res: Http2ServerResponse) =>
          handler(req as unknown as IncomingMessage, res as unknown as ServerResponse),
        )
      : createServer({ keepAliveTimeout: 5_000 }, handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        if ('closeAllConnections' in server) server.closeAllConnections();
      });
      await origin.close();
    },
  };
});
