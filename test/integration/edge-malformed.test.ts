/**
 * Issue 12, finding 6: what a function returns is held to RFC 9110's header grammar before it reaches the wire
 * (a control character in a header value used to fail inside node:http and answer `502 Moved Permanently`), and
 * malformed requests (OPTIONS *, CONNECT, absolute-form to unknown hosts, bad Host headers) are answered 4xx
 * before any function runs. Raw sockets: an HTTP client would refuse to send most of these.
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

/** Answers every request itself, saying so in the body: a 200 "function ran" means the request reached it. */
const FUNCTION = `function handler(event) {
  var u = event.request.uri;
  if (u === '/ctl') return { statusCode: 200, headers: { 'x-bad': { value: 'a\\u0001b' } } };
  if (u === '/redirect-ctl') return { statusCode: 301, statusDescription: 'Moved Permanently', headers: { location: { value: '/next\\u0007' } } };
  if (u === '/del') return { statusCode: 200, headers: { 'x-bad': { value: 'a\\u007fb' } } };
  if (u === '/multi') return { statusCode: 200, headers: { 'x-bad': { value: 'ok', multiValue: [{ value: 'ok' }, { value: 'b\\u000bc' }] } } };
  if (u === '/wide') return { statusCode: 200, headers: { 'x-wide': { value: 'snow \\u2603' } } };
  if (u === '/desc') return { statusCode: 200, statusDescription: 'OK \\u0005' };
  if (u === '/desc-wide') return { statusCode: 200, statusDescription: 'OK \\u2603' };
  if (u === '/tab') return { statusCode: 200, statusDescription: 'Fine\\tthanks', headers: { 'x-tab': { value: 'a\\tb' }, 'x-latin': { value: 'caf\\u00e9' } }, body: 'tab ok' };
  return { statusCode: 200, statusDescription: 'OK', body: 'function ran for ' + event.request.method + ' ' + u };
}`;

interface RawReply {
  statusLine: string;
  head: string;
  body: string;
}

function raw(port: number, text: string): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const all = Buffer.concat(chunks).toString('latin1');
      const split = all.indexOf('\r\n\r\n');
      const head = split === -1 ? all : all.slice(0, split);
      resolve({ statusLine: head.split('\r\n')[0] ?? '', head, body: split === -1 ? '' : all.slice(split + 4) });
    });
  });
}

function request(line: string, headers: string[] = ['Host: known.test']): string {
  return `${line}\r\n${[...headers, 'Connection: close'].join('\r\n')}\r\n\r\n`;
}

function header(reply: RawReply, name: string): string | undefined {
  const match = new RegExp(`^${name}: (.*)$`, 'im').exec(reply.head);
  return match?.[1];
}

describe('edge: function results and requests held to the HTTP grammar (issue 12, finding 6)', () => {
  let dir: string;
  let functions: ConfigFunctionSource;
  /** Serves known.test only: an absolute-form request for another host has no distribution. */
  let named: EdgeServer;
  /** Serves every host: whatever is refused here is refused for its syntax, not for an unknown name. */
  let catchAll: EdgeServer;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'openfront-malformed-'));
    writeFileSync(join(dir, 'answer.js'), FUNCTION);
    const distribution = (id: string, hostnames: string[]) => ({
      id,
      hostnames,
      origins: [{ id: 'nowhere', url: 'http://127.0.0.1:9' }],
      defaultBehavior: { origin: 'nowhere', cachePolicy: 'CachingDisabled', functionAssociations: { 'viewer-request': 'answer' } },
    });
    const config = (hostnames: string[]) =>
      parseConfig({ functions: [{ name: 'answer', code: 'answer.js' }], distributions: [distribution('d', hostnames)] }, dir);
    // A generous kill limit: this test is about what reaches the wire, and a loaded machine can stretch a cold first
    // invocation past the default 20 ms of wall time.
    functions = await ConfigFunctionSource.create(config(['known.test']), { limits: { killAfterMicros: 2_000_000 } });
    named = await startEdge({ config: config(['known.test']), functions, port: 0 });
    catchAll = await startEdge({ config: config(['*']), functions, port: 0 });
  });

  after(async () => {
    await named.close();
    await catchAll.close();
    functions.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves a well-formed request through the function (the control case)', async () => {
    const reply = await raw(named.port, request('GET /hello HTTP/1.1'));
    assert.equal(reply.statusLine, 'HTTP/1.1 200 OK');
    assert.equal(reply.body, 'function ran for GET /hello');
  });

  for (const path of ['/ctl', '/redirect-ctl', '/del', '/multi', '/wide', '/desc', '/desc-wide']) {
    it(`answers 502 FunctionValidationError with the error page when a function returns a bad header or status text (${path})`, async () => {
      const reply = await raw(named.port, request(`GET ${path} HTTP/1.1`));
      assert.equal(reply.statusLine, 'HTTP/1.1 502 Bad Gateway');
      assert.equal(header(reply, 'x-openfront-error'), 'FunctionValidationError');
      assert.match(reply.body, /The request could not be satisfied/);
      assert.equal(header(reply, 'x-bad'), undefined);
      assert.equal(header(reply, 'location'), undefined);
    });
  }

  it('accepts HTAB and obs-text (U+0080–U+00FF) in header values and the status text', async () => {
    const reply = await raw(named.port, request('GET /tab HTTP/1.1'));
    assert.equal(reply.statusLine, 'HTTP/1.1 200 Fine\tthanks');
    assert.equal(header(reply, 'x-tab'), 'a\tb');
    // node:http writes the head in one encoding or the other depending on how it is flushed; either way it is sent.
    const latin = header(reply, 'x-latin') ?? '';
    assert.ok(latin === 'caf\u00e9' || Buffer.from(latin, 'latin1').toString('utf8') === 'caf\u00e9', latin);
    assert.equal(reply.body, 'tab ok');
  });

  const malformed: Array<{ name: string; text: string; status: number; edge?: 'named' | 'catchAll' }> = [
    { name: 'OPTIONS * (asterisk-form)', text: request('OPTIONS * HTTP/1.1'), status: 400 },
    { name: 'CONNECT', text: request('CONNECT known.test:443 HTTP/1.1', ['Host: known.test:443']), status: 405 },
    { name: 'absolute-form for a host no distribution serves', text: request('GET http://evil.example/x HTTP/1.1'), status: 403 },
    { name: 'absolute-form with an authority that is not a host', text: request('GET http://user@evil.example/x HTTP/1.1'), status: 400, edge: 'catchAll' },
    { name: 'a target that is neither a path nor a URL', text: request('GET ftp://known.test/x HTTP/1.1'), status: 400, edge: 'catchAll' },
    { name: 'an oversized Host', text: request('GET / HTTP/1.1', [`Host: ${'a'.repeat(300)}`]), status: 400, edge: 'catchAll' },
    { name: 'a Host with a space', text: request('GET / HTTP/1.1', ['Host: kno wn']), status: 400, edge: 'catchAll' },
    { name: 'a Host with userinfo', text: request('GET / HTTP/1.1', ['Host: x@known.test']), status: 400, edge: 'catchAll' },
    { name: 'a Host with a path', text: request('GET / HTTP/1.1', ['Host: known.test/x']), status: 400, edge: 'catchAll' },
    { name: 'two Host headers', text: request('GET / HTTP/1.1', ['Host: known.test', 'Host: other.test']), status: 400, edge: 'catchAll' },
    { name: 'no Host in HTTP/1.1', text: request('GET / HTTP/1.1', []), status: 400, edge: 'catchAll' },
  ];
  for (const c of malformed) {
    it(`answers ${c.status} before any function runs: ${c.name}`, async () => {
      const reply = await raw((c.edge === 'catchAll' ? catchAll : named).port, c.text);
      assert.match(reply.statusLine, new RegExp(`^HTTP/1\\.1 ${c.status} `));
      assert.doesNotMatch(reply.body, /function ran/);
    });
  }

  it('serves an absolute-form request for a host it knows, with the path as the target', async () => {
    const reply = await raw(named.port, request('GET http://known.test/abs?q=1 HTTP/1.1', ['Host: ignored.example']));
    assert.equal(reply.statusLine, 'HTTP/1.1 200 OK');
    assert.equal(reply.body, 'function ran for GET /abs');
  });
});
