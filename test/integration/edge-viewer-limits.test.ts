/**
 * CloudFront's viewer limits (docs/edge.md, "Viewer limits"), each reproduced with the abuse it bounds: a request
 * head over 20,480 bytes and a URL over 8,192 bytes get 413 and a closed connection, a head node:http refuses to
 * parse gets 413 too, headers are never silently dropped, a GET with a body gets 403 — and no function runs for any of
 * them. Raw sockets: an HTTP client would refuse to send most of these.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { startEdge, type EdgeServer } from '../../src/edge/edge-server.js';
import { ConfigFunctionSource } from '../../src/edge/function-source.js';
import { VIEWER_LIMITS } from '../../src/edge/request-guard.js';

const FUNCTION = `function handler(event) {
  var extra = event.request.uri === '/count' ? ' with ' + Object.keys(event.request.headers).length + ' headers' : '';
  return { statusCode: 200, statusDescription: 'OK', body: 'function ran for ' + event.request.method + extra };
}`;

interface RawReply {
  statusLine: string;
  head: string;
  body: string;
  /** The edge closed the connection although the request asked to keep it open. */
  closedByEdge: boolean;
}

/** Sends `text` on a keep-alive connection and reads until the edge closes it or a complete response arrived. */
function raw(port: number, text: string): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (closedByEdge: boolean) => {
      if (settled) return;
      settled = true;
      const all = Buffer.concat(chunks).toString('latin1');
      const split = all.indexOf('\r\n\r\n');
      const head = split === -1 ? all : all.slice(0, split);
      socket.destroy();
      resolve({ statusLine: head.split('\r\n')[0] ?? '', head, body: split === -1 ? '' : all.slice(split + 4), closedByEdge });
    };
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      const all = Buffer.concat(chunks).toString('latin1');
      const split = all.indexOf('\r\n\r\n');
      const length = /^content-length: (\d+)$/im.exec(all.slice(0, split));
      // A complete keep-alive response: the edge did not close; give it a moment to prove it would have.
      if (split !== -1 && length && all.length - split - 4 >= Number(length[1])) setTimeout(() => finish(false), 50);
    });
    socket.on('error', (err) => (settled ? undefined : reject(err)));
    socket.on('end', () => finish(true));
    socket.on('close', () => finish(true));
  });
}

function header(reply: RawReply, name: string): string | undefined {
  return new RegExp(`^${name}: (.*)$`, 'im').exec(reply.head)?.[1];
}

/** A GET whose request line and headers are exactly `bytes` long, padded in one header's value. */
function headOfSize(bytes: number): string {
  const fixed = 'GET / HTTP/1.1\r\nHost: limits.test\r\nX-Pad: \r\n\r\n';
  return `GET / HTTP/1.1\r\nHost: limits.test\r\nX-Pad: ${'p'.repeat(bytes - fixed.length)}\r\n\r\n`;
}

/** A GET whose URL (`https://limits.test` + target) is exactly `bytes` long. */
function urlOfSize(bytes: number): string {
  const base = 'https://limits.test/';
  return `GET /${'u'.repeat(bytes - base.length)} HTTP/1.1\r\nHost: limits.test\r\n\r\n`;
}

describe('edge: CloudFront viewer limits', () => {
  let dir: string;
  let functions: ConfigFunctionSource;
  let edge: EdgeServer;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'openfront-limits-'));
    writeFileSync(join(dir, 'answer.js'), FUNCTION);
    const config = parseConfig(
      {
        functions: [{ name: 'answer', code: 'answer.js' }],
        distributions: [
          {
            id: 'd',
            hostnames: ['limits.test'],
            origins: [{ id: 'nowhere', url: 'http://127.0.0.1:9' }],
            defaultBehavior: { origin: 'nowhere', cachePolicy: 'CachingDisabled', functionAssociations: { 'viewer-request': 'answer' } },
          },
        ],
      },
      dir,
    );
    functions = await ConfigFunctionSource.create(config, { limits: { killAfterMicros: 2_000_000 } });
    edge = await startEdge({ config, functions, port: 0 });
  });

  after(async () => {
    await edge.close();
    functions.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves a request head of exactly 20,480 bytes', async () => {
    const text = headOfSize(VIEWER_LIMITS.requestHeadBytes);
    assert.equal(text.length, 20_480);
    const reply = await raw(edge.port, text);
    assert.equal(reply.statusLine, 'HTTP/1.1 200 OK');
    assert.equal(reply.body, 'function ran for GET');
    assert.equal(reply.closedByEdge, false);
  });

  it('answers 413 and closes the connection for a request head of 20,481 bytes; no function runs', async () => {
    const reply = await raw(edge.port, headOfSize(VIEWER_LIMITS.requestHeadBytes + 1));
    assert.equal(reply.statusLine, 'HTTP/1.1 413 Payload Too Large');
    assert.equal(header(reply, 'x-openfront-error'), 'RequestTooLarge');
    assert.match(reply.body, /413 ERROR/);
    assert.equal(reply.closedByEdge, true);
  });

  it('counts header separators: 1,500 short headers (26 KB on the wire) get 413', async () => {
    const text = `GET / HTTP/1.1\r\nHost: limits.test\r\n${'X-B: bbbbbbbbbb\r\n'.repeat(1_500)}\r\n`;
    assert.ok(text.length > 25_000);
    const reply = await raw(edge.port, text);
    assert.match(reply.statusLine, /^HTTP\/1\.1 413 /);
    assert.equal(reply.closedByEdge, true);
  });

  it('answers 413 and closes the connection when the head is far over the limit (node:http stops parsing)', async () => {
    const reply = await raw(edge.port, `GET / HTTP/1.1\r\nHost: limits.test\r\nCookie: ${'c'.repeat(64 * 1024)}\r\n\r\n`);
    assert.match(reply.statusLine, /^HTTP\/1\.1 413 /);
    assert.doesNotMatch(reply.body, /function ran/);
    assert.equal(reply.closedByEdge, true);
  });

  it('serves a URL of exactly 8,192 bytes and answers 413 with the connection closed at 8,193', async () => {
    const ok = await raw(edge.port, urlOfSize(VIEWER_LIMITS.urlBytes));
    assert.equal(ok.statusLine, 'HTTP/1.1 200 OK');
    const over = await raw(edge.port, urlOfSize(VIEWER_LIMITS.urlBytes + 1));
    assert.equal(over.statusLine, 'HTTP/1.1 413 Payload Too Large');
    assert.equal(header(over, 'x-openfront-error'), 'RequestTooLarge');
    assert.doesNotMatch(over.body, /function ran/);
    assert.equal(over.closedByEdge, true);
  });

  it('passes every header of a head under the limit to the function: 1,500 headers, none dropped', async () => {
    const names = Array.from({ length: 1_500 }, (_, i) => `h${i}:\r\n`).join('');
    const reply = await raw(edge.port, `GET /count HTTP/1.1\r\nHost: limits.test\r\n${names}\r\n`);
    assert.equal(reply.statusLine, 'HTTP/1.1 200 OK');
    assert.equal(reply.body, 'function ran for GET with 1501 headers');
  });

  for (const method of ['TRACE', 'PROPFIND', 'PURGE', 'MKCOL']) {
    it(`answers 405 to ${method}, a method CloudFront does not serve, before any function runs`, async () => {
      const reply = await raw(edge.port, `${method} / HTTP/1.1\r\nHost: limits.test\r\n\r\n`);
      assert.equal(reply.statusLine, 'HTTP/1.1 405 Method Not Allowed');
      assert.equal(header(reply, 'x-openfront-error'), 'MethodNotAllowed');
      assert.doesNotMatch(reply.body, /function ran/);
    });
  }

  it('answers 403 to a GET with a body, and serves a POST with one', async () => {
    const get = await raw(edge.port, 'GET / HTTP/1.1\r\nHost: limits.test\r\nContent-Length: 5\r\n\r\nhello');
    assert.equal(get.statusLine, 'HTTP/1.1 403 Forbidden');
    assert.equal(header(get, 'x-openfront-error'), 'InvalidRequest');
    assert.doesNotMatch(get.body, /function ran/);
    const chunked = await raw(edge.port, 'GET / HTTP/1.1\r\nHost: limits.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
    assert.equal(chunked.statusLine, 'HTTP/1.1 403 Forbidden');
    const post = await raw(edge.port, 'POST / HTTP/1.1\r\nHost: limits.test\r\nContent-Length: 5\r\n\r\nhello');
    assert.equal(post.statusLine, 'HTTP/1.1 200 OK');
    assert.equal(post.body, 'function ran for POST');
  });
});
