/**
 * CloudFront's origin settings at work against real origins on loopback (docs/edge.md, "Origins"): connection
 * attempts (GET/HEAD are sent again after a read timeout or a dropped connection, other methods are not), the read
 * timeout for the first byte and between bytes (a slow origin cannot hold the edge), and the keep-alive timeout
 * that closes idle origin connections.
 */
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { startEdge, type EdgeServer } from '../../src/edge/edge-server.js';
import { ConfigFunctionSource } from '../../src/edge/function-source.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The body ended normally (false: the edge cut the message). */
  complete: boolean;
}

function send(port: number, path: string, method = 'GET', body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method, headers: { host: 'origins.test' }, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, complete: true }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, complete: false }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

describe('edge: origin connection attempts, read timeout and keep-alive', () => {
  /** Counts the requests per path it receives; never answers /stall, answers /slow-body slowly, drops /drop. */
  const seen = new Map<string, number>();
  const sockets = new Set<Socket>();
  let connections = 0;
  const origin = createServer((req, res) => {
    const path = req.url ?? '/';
    seen.set(path, (seen.get(path) ?? 0) + 1);
    req.resume();
    if (path.includes('/stall')) return;
    if (path.includes('/drop')) return req.socket.destroy();
    if (path.includes('/slow-body')) {
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-store' });
      res.write('first chunk;');
      // The second chunk never comes: the gap exceeds the read timeout.
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-store' });
    res.end(`ok ${path}`);
  });
  origin.on('connection', (socket: Socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  let edge: EdgeServer;
  let functions: ConfigFunctionSource;

  before(async () => {
    const port = await listen(origin);
    const url = `http://127.0.0.1:${port}`;
    const config = parseConfig(
      {
        distributions: [
          {
            id: 'd',
            hostnames: ['origins.test'],
            origins: [
              { id: 'two', url, connectionAttempts: 2, readTimeoutMs: 150 },
              { id: 'default', url, readTimeoutMs: 150 },
              { id: 'once', url, connectionAttempts: 1, readTimeoutMs: 150 },
              { id: 'brief', url, keepaliveTimeoutMs: 100 },
            ],
            defaultBehavior: { origin: 'default', cachePolicy: 'CachingDisabled' },
            behaviors: [
              { pathPattern: '/two/*', origin: 'two', cachePolicy: 'CachingDisabled' },
              { pathPattern: '/once/*', origin: 'once', cachePolicy: 'CachingDisabled' },
              { pathPattern: '/brief/*', origin: 'brief', cachePolicy: 'CachingDisabled' },
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
    for (const socket of sockets) socket.destroy();
    origin.close();
  });

  it('sends a GET again after a read timeout, connectionAttempts times in all, then answers 504', async () => {
    const reply = await send(edge.port, '/two/stall-get');
    assert.equal(reply.status, 504);
    assert.equal(reply.headers['x-openfront-error'], 'OriginTimeout');
    assert.equal(seen.get('/two/stall-get'), 2);
  });

  it('does not send a POST again after a read timeout', async () => {
    const reply = await send(edge.port, '/two/stall-post', 'POST', 'payload');
    assert.equal(reply.status, 504);
    assert.equal(seen.get('/two/stall-post'), 1);
  });

  it('sends a GET again when the origin drops the connection, then answers 502', async () => {
    const reply = await send(edge.port, '/two/drop');
    assert.equal(reply.status, 502);
    assert.equal(reply.headers['x-openfront-error'], 'OriginConnectError');
    assert.equal(seen.get('/two/drop'), 2);
  });

  it('with connectionAttempts 1 sends a request once', async () => {
    const reply = await send(edge.port, '/once/stall');
    assert.equal(reply.status, 504);
    assert.equal(seen.get('/once/stall'), 1);
  });

  it('bounds the gap between body chunks by the read timeout: a stalled body is cut, not a hung request', async () => {
    // The head has gone to the viewer when the body stalls (bodies stream): the edge ends the message cut short.
    const reply = await send(edge.port, '/once/slow-body');
    assert.equal(reply.status, 200);
    assert.equal(reply.body, 'first chunk;');
    assert.equal(reply.complete, false);
  });

  it('reuses an idle origin connection within the keep-alive timeout and closes it after', async () => {
    assert.equal((await send(edge.port, '/ok-1')).body, 'ok /ok-1');
    const before = connections;
    assert.equal((await send(edge.port, '/ok-2')).body, 'ok /ok-2');
    assert.equal(connections, before, 'the default 5 s keep-alive reuses the connection');

    const opened = once(origin, 'connection') as Promise<[Socket]>;
    assert.equal((await send(edge.port, '/brief/a')).body, 'ok /brief/a');
    const [socket] = await opened;
    // The edge closes the idle connection after keepaliveTimeoutMs (100 ms): the origin sees it close.
    await once(socket, 'close');
    const count = connections;
    assert.equal((await send(edge.port, '/brief/b')).body, 'ok /brief/b');
    assert.equal(connections, count + 1, 'a new connection after the keep-alive timeout');
  });
});
