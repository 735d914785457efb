/**
 * HTTPS and HTTP/2 at the edge, end to end: a real edge with certificates this test makes, real origins on
 * 127.0.0.1, real TLS and HTTP/2 clients (node:tls, node:https, node:http2, curl when installed).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect as http2Connect, constants as h2, type ClientHttp2Session } from 'node:http2';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type ConnectionOptions, type PeerCertificate } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { generate } from 'selfsigned';
import { parseConfig } from '../../src/config/load.js';
import { startEdge, type EdgeServer } from '../../src/edge/edge-server.js';
import { ConfigFunctionSource } from '../../src/edge/function-source.js';
import { MAX_CERTIFICATE_FILE_BYTES } from '../../src/edge/listen/certificates.js';
import { isOpenFrontError } from '../../src/errors.js';

async function makeCertificate(dir: string, name: string, cn: string, altNames: string[]): Promise<{ certificate: string; privateKey: string }> {
  const pems = await generate([{ name: 'commonName', value: cn }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: altNames.map((value) => ({ type: 2 as const, value })) }],
  });
  writeFileSync(join(dir, `${name}.crt`), pems.cert);
  writeFileSync(join(dir, `${name}.key`), pems.private);
  return { certificate: `${name}.crt`, privateKey: `${name}.key` };
}

/** An origin that answers with what it received. A `/hold` request waits until `release()`. */
async function startOrigin(): Promise<{
  server: Server;
  port: number;
  seen: Array<{ url: string; headers: IncomingHttpHeaders; body: string }>;
  release(): void;
}> {
  const seen: Array<{ url: string; headers: IncomingHttpHeaders; body: string }> = [];
  let held: Array<() => void> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const entry = { url: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      seen.push(entry);
      const send = () => {
        if (res.destroyed) return;
        const body = JSON.stringify(entry);
        res.writeHead(200, ['content-type', 'application/json', 'set-cookie', 'a=1', 'set-cookie', 'b=2', 'content-length', String(Buffer.byteLength(body))]);
        res.end(body);
      };
      if (entry.url.startsWith('/hold')) held.push(send);
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    seen,
    release() {
      const waiting = held;
      held = [];
      for (const send of waiting) send();
    },
  };
}

/** Handshakes and returns what the viewer saw; rejects when the edge refuses or drops the connection. */
function handshake(
  port: number,
  options: ConnectionOptions,
): Promise<{ subject: PeerCertificate['subject']; protocol: string | null; alpn: string | false | null }> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options }, () => {
      const result = { subject: socket.getPeerCertificate().subject, protocol: socket.getProtocol(), alpn: socket.alpnProtocol };
      // The edge checks the distribution's policy right after the handshake: a request tells whether it kept the connection.
      socket.write('GET /plain HTTP/1.1\r\nHost: check\r\nConnection: close\r\n\r\n');
      let answered = false;
      socket.on('data', () => (answered = true));
      socket.on('close', () => (answered ? resolve(result) : reject(new Error('connection closed without an answer'))));
    });
    socket.on('error', reject);
  });
}

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

function viaHttps(port: number, servername: string, path: string, method = 'GET', body?: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port, servername, path, method, rejectUnauthorized: false, agent: false, headers: { host: servername, ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function viaHttp(port: number, host: string, path: string, method = 'GET', body?: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method, agent: false, headers: { host, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** One raw HTTP/1.0 or 1.1 request line and headers over plain TCP: the status line comes back. */
function rawHttp(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(port, '127.0.0.1', () => socket.end(text));
    let out = '';
    socket.on('data', (c: Buffer) => (out += c.toString('latin1')));
    socket.on('close', () => resolve(out));
    socket.on('error', reject);
  });
}

function h2Session(port: number, servername: string): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2Connect(`https://127.0.0.1:${port}`, { servername, rejectUnauthorized: false });
    // The edge's SETTINGS have arrived once this fires.
    session.once('remoteSettings', () => resolve(session));
    session.once('error', reject);
  });
}

function h2Request(session: ClientHttp2Session, headers: Record<string, string>, body?: string): Promise<Reply & { raw: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: body === undefined });
    let raw: Record<string, unknown> = {};
    stream.on('response', (h) => (raw = h));
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve({ status: Number(raw[':status']), headers: raw as IncomingHttpHeaders, body: Buffer.concat(chunks).toString('utf8'), raw }));
    stream.on('error', reject);
    if (body !== undefined) stream.end(body);
  });
}

/** A viewer-request function that answers with the event it was given (the request id aside, which is per request). */
const ECHO_EVENT = `function handler(event) {
  var copy = JSON.parse(JSON.stringify(event));
  delete copy.context.requestId;
  return { statusCode: 200, statusDescription: 'OK', headers: { 'content-type': { value: 'application/json' } }, body: JSON.stringify(copy) };
}`;

describe('edge over HTTPS and HTTP/2', () => {
  let dir: string;
  let origin: Awaited<ReturnType<typeof startOrigin>>;
  let functions: ConfigFunctionSource;
  let edge: EdgeServer;
  let httpsPort: number;
  const logs: string[] = [];
  const STREAMS = 8;

  before(async () => {
    origin = await startOrigin();
    dir = mkdtempSync(join(tmpdir(), 'openfront-tls-'));
    const fallback = await makeCertificate(dir, 'default', 'default.test', ['default.test']);
    const alpha = await makeCertificate(dir, 'alpha', 'alpha.test', ['alpha.test']);
    const beta = await makeCertificate(dir, 'beta', 'beta.test', ['*.beta.test']);
    const old = await makeCertificate(dir, 'old', 'old.test', ['old.test']);
    writeFileSync(join(dir, 'echo.js'), ECHO_EVENT);
    const config = parseConfig(
      {
        server: {
          nodeId: 'tls-node',
          tls: {
            defaultCertificate: fallback,
            minimumProtocolVersion: 'TLSv1.2_2019',
            handshakeTimeoutMs: 300,
            reloadIntervalMs: 3_600_000,
            maxConcurrentStreams: STREAMS,
          },
        },
        functions: [{ name: 'echo', code: 'echo.js' }],
        cachePolicies: [{ name: 'Proto', minTtl: 0, defaultTtl: 0, maxTtl: 0, headers: { behavior: 'whitelist', names: ['cloudfront-forwarded-proto'] } }],
        distributions: [
          {
            id: 'alpha',
            hostnames: ['alpha.test'],
            viewerCertificate: { ...alpha, minimumProtocolVersion: 'TLSv1.2_2021' },
            origins: [{ id: 'o', url: `http://127.0.0.1:${origin.port}` }],
            defaultBehavior: { origin: 'o', cachePolicy: 'CachingDisabled' },
            behaviors: [
              { pathPattern: '/echo*', origin: 'o', cachePolicy: 'CachingDisabled', functionAssociations: { 'viewer-request': 'echo' } },
              { pathPattern: '/secure/*', origin: 'o', cachePolicy: 'CachingDisabled', viewerProtocolPolicy: 'https-only' },
              { pathPattern: '/redir/*', origin: 'o', cachePolicy: 'CachingDisabled', viewerProtocolPolicy: 'redirect-to-https' },
              { pathPattern: '/proto/*', origin: 'o', cachePolicy: 'Proto', functionAssociations: { 'viewer-request': 'echo' } },
              { pathPattern: '/proto-origin/*', origin: 'o', cachePolicy: 'Proto' },
            ],
          },
          {
            id: 'beta',
            hostnames: ['*.beta.test'],
            viewerCertificate: { ...beta, minimumProtocolVersion: 'TLSv1.3_2025' },
            origins: [{ id: 'o', url: `http://127.0.0.1:${origin.port}` }],
            defaultBehavior: { origin: 'o', cachePolicy: 'CachingDisabled' },
          },
          {
            id: 'legacy',
            hostnames: ['old.test'],
            httpVersion: 'http1.1',
            viewerCertificate: old,
            origins: [{ id: 'o', url: `http://127.0.0.1:${origin.port}` }],
            defaultBehavior: { origin: 'o', cachePolicy: 'CachingDisabled' },
          },
          {
            id: 'rest',
            hostnames: ['*'],
            origins: [{ id: 'o', url: `http://127.0.0.1:${origin.port}` }],
            defaultBehavior: { origin: 'o', cachePolicy: 'CachingDisabled' },
          },
        ],
      },
      dir,
    );
    functions = await ConfigFunctionSource.create(config);
    edge = await startEdge({ config, functions, port: 0, httpsPort: 0, cacheBytes: 0, log: (m) => logs.push(m) });
    httpsPort = edge.httpsPort!;
  });

  after(async () => {
    await edge.close();
    functions.close();
    await new Promise<void>((resolve) => origin.server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  describe('certificates', () => {
    it('picks the certificate by SNI: exact and wildcard aliases, and the default for other names and for no SNI', async () => {
      assert.equal((await handshake(httpsPort, { servername: 'alpha.test' })).subject.CN, 'alpha.test');
      assert.equal((await handshake(httpsPort, { servername: 'www.beta.test' })).subject.CN, 'beta.test');
      assert.equal((await handshake(httpsPort, { servername: 'unknown.test' })).subject.CN, 'default.test');
      assert.equal((await handshake(httpsPort, {})).subject.CN, 'default.test');
    });

    it('speaks TLS 1.2 and 1.3 and refuses TLS 1.1 in the handshake', async () => {
      assert.equal((await handshake(httpsPort, { servername: 'alpha.test', maxVersion: 'TLSv1.2' })).protocol, 'TLSv1.2');
      assert.equal((await handshake(httpsPort, { servername: 'alpha.test', minVersion: 'TLSv1.3' })).protocol, 'TLSv1.3');
      const before = edge.httpsStats().handshakeFailures;
      await assert.rejects(
        handshake(httpsPort, { servername: 'alpha.test', minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }),
        (err: NodeJS.ErrnoException) => err.code === 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
      );
      assert.equal(edge.httpsStats().handshakeFailures, before + 1);
    });

    it("holds each connection to its distribution's security policy", async () => {
      // TLSv1.3_2025: TLS 1.2 is not enough.
      const refusals = edge.httpsStats().policyRefusals;
      await assert.rejects(handshake(httpsPort, { servername: 'www.beta.test', maxVersion: 'TLSv1.2' }));
      assert.equal((await handshake(httpsPort, { servername: 'www.beta.test' })).protocol, 'TLSv1.3');
      // TLSv1.3_2025 has no CHACHA20.
      await assert.rejects(handshake(httpsPort, { servername: 'www.beta.test', ciphers: 'TLS_CHACHA20_POLY1305_SHA256' }));
      // A CBC suite: TLSv1.2_2021 (alpha) refuses it, TLSv1.2_2019 (the default certificate's policy) allows it.
      const cbc = { maxVersion: 'TLSv1.2' as const, ciphers: 'ECDHE-ECDSA-AES128-SHA256' };
      await assert.rejects(handshake(httpsPort, { servername: 'alpha.test', ...cbc }));
      assert.equal((await handshake(httpsPort, { servername: 'unknown.test', ...cbc })).protocol, 'TLSv1.2');
      assert.equal(edge.httpsStats().policyRefusals, refusals + 3);
    });

    it('reloads a changed certificate without a restart, and keeps the old one when the new file is broken or too large', async () => {
      const renewed = join(dir, 'renewed');
      mkdirSync(renewed);
      const next = await makeCertificate(renewed, 'alpha', 'alpha-renewed.test', ['alpha.test']);
      writeFileSync(join(dir, 'alpha.crt'), readFileSync(join(renewed, next.certificate)));
      writeFileSync(join(dir, 'alpha.key'), readFileSync(join(renewed, next.privateKey)));
      await edge.reloadCertificates();
      assert.equal((await handshake(httpsPort, { servername: 'alpha.test' })).subject.CN, 'alpha-renewed.test');
      assert.ok(logs.some((l) => l.includes('alpha reloaded') && l.includes('alpha-renewed.test')));

      writeFileSync(join(dir, 'alpha.crt'), '-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n');
      await edge.reloadCertificates();
      assert.equal((await handshake(httpsPort, { servername: 'alpha.test' })).subject.CN, 'alpha-renewed.test');
      assert.ok(logs.some((l) => l.includes('alpha not reloaded') && l.includes('still serving')));

      writeFileSync(join(dir, 'alpha.crt'), Buffer.alloc(MAX_CERTIFICATE_FILE_BYTES + 10, 'A'));
      await edge.reloadCertificates();
      assert.equal((await handshake(httpsPort, { servername: 'alpha.test' })).subject.CN, 'alpha-renewed.test');
      assert.ok(logs.some((l) => l.includes(`larger than ${MAX_CERTIFICATE_FILE_BYTES} bytes`)));
      writeFileSync(join(dir, 'alpha.crt'), readFileSync(join(renewed, next.certificate)));
    });

    it('refuses to start with a certificate file that is too large or a key that does not match', async () => {
      const big = join(dir, 'big.crt');
      writeFileSync(big, Buffer.alloc(MAX_CERTIFICATE_FILE_BYTES + 1, 'A'));
      const mismatched = await makeCertificate(dir, 'other', 'other.test', ['other.test']);
      for (const [certificate, privateKey, expected] of [
        ['big.crt', 'default.key', /larger than/],
        [mismatched.certificate, 'default.key', /cannot be used with its certificate/],
      ] as const) {
        const config = parseConfig(
          {
            server: { tls: { defaultCertificate: { certificate, privateKey } } },
            distributions: [{ id: 'd', hostnames: ['*'], origins: [{ id: 'o', url: 'http://127.0.0.1:9' }], defaultBehavior: { origin: 'o' } }],
          },
          dir,
        );
        await assert.rejects(
          startEdge({ config, functions, port: 0, httpsPort: 0 }),
          (err: unknown) => isOpenFrontError(err) && err.code === 'EDGE_CERTIFICATE_INVALID' && expected.test(err.message),
        );
      }
    });

    it('closes a connection that does not finish its handshake in time', async () => {
      const before = edge.httpsStats().handshakeFailures;
      const socket = netConnect(httpsPort, '127.0.0.1');
      socket.on('error', () => {});
      socket.write(Buffer.from([0x16, 0x03, 0x01])); // the start of a TLS record, then nothing
      await new Promise((resolve) => socket.on('close', resolve));
      assert.equal(edge.httpsStats().handshakeFailures, before + 1);
    });
  });

  describe('viewerProtocolPolicy', () => {
    it('allow-all serves both schemes', async () => {
      assert.equal((await viaHttp(edge.port, 'alpha.test', '/plain')).status, 200);
      assert.equal((await viaHttps(httpsPort, 'alpha.test', '/plain')).status, 200);
    });

    it('redirect-to-https: 301 for GET and HEAD with the query kept, 307 for other methods, 403 for those from HTTP/1.0', async () => {
      const before = origin.seen.length;
      const get = await viaHttp(edge.port, `alpha.test:${edge.port}`, '/redir/page?x=1&y=2');
      assert.equal(get.status, 301);
      assert.equal(get.headers.location, `https://alpha.test:${httpsPort}/redir/page?x=1&y=2`);
      assert.equal(get.headers['x-cache'], 'Redirect from openfront');
      assert.equal((await viaHttp(edge.port, 'alpha.test', '/redir/page', 'HEAD')).status, 301);
      const post = await viaHttp(edge.port, 'alpha.test', '/redir/form', 'POST', 'a=1');
      assert.equal(post.status, 307);
      assert.equal(post.headers.location, `https://alpha.test:${httpsPort}/redir/form`);
      assert.match(await rawHttp(edge.port, 'POST /redir/form HTTP/1.0\r\nHost: alpha.test\r\nContent-Length: 0\r\n\r\n'), /^HTTP\/1\.1 403 /);
      assert.equal(origin.seen.length, before, 'nothing reached the origin over plain HTTP');
      assert.equal((await viaHttps(httpsPort, 'alpha.test', '/redir/page')).status, 200);
    });

    it('https-only: 403 over HTTP, served over HTTPS', async () => {
      const refused = await viaHttp(edge.port, 'alpha.test', '/secure/x');
      assert.equal(refused.status, 403);
      assert.equal(refused.headers['x-openfront-error'], 'HttpsRequired');
      assert.equal((await viaHttps(httpsPort, 'alpha.test', '/secure/x')).status, 200);
    });
  });

  describe('CloudFront-Forwarded-Proto', () => {
    it('carries the real scheme to the function and the origin when the cache policy names it, replacing what the viewer sent', async () => {
      const spoof = { 'cloudfront-forwarded-proto': 'https' };
      const plainEvent = JSON.parse((await viaHttp(edge.port, 'alpha.test', '/proto/x', 'GET', undefined, spoof)).body);
      assert.deepEqual(plainEvent.request.headers['cloudfront-forwarded-proto'], { value: 'http' });
      const tlsEvent = JSON.parse((await viaHttps(httpsPort, 'alpha.test', '/proto/x')).body);
      assert.deepEqual(tlsEvent.request.headers['cloudfront-forwarded-proto'], { value: 'https' });

      const plain = JSON.parse((await viaHttp(edge.port, 'alpha.test', '/proto-origin/x', 'GET', undefined, spoof)).body);
      assert.equal(plain.headers['cloudfront-forwarded-proto'], 'http');
      const secure = JSON.parse((await viaHttps(httpsPort, 'alpha.test', '/proto-origin/x')).body);
      assert.equal(secure.headers['cloudfront-forwarded-proto'], 'https');
    });

    it('is not added when the cache policy does not name it', async () => {
      const seen = JSON.parse((await viaHttps(httpsPort, 'alpha.test', '/plain')).body);
      assert.equal(seen.headers['cloudfront-forwarded-proto'], undefined);
    });
  });

  describe('HTTP/2', () => {
    it('negotiates h2 by ALPN, and only HTTP/1.1 for an http1.1 distribution', async () => {
      assert.equal((await handshake(httpsPort, { servername: 'alpha.test', ALPNProtocols: ['h2', 'http/1.1'] })).alpn, 'h2');
      assert.equal((await handshake(httpsPort, { servername: 'alpha.test', ALPNProtocols: ['http/1.1'] })).alpn, 'http/1.1');
      assert.equal((await handshake(httpsPort, { servername: 'old.test', ALPNProtocols: ['h2', 'http/1.1'] })).alpn, 'http/1.1');
    });

    it('gives a function the same event over HTTP/2 as over HTTP/1.1: no pseudo-headers, :authority as host', async () => {
      const h1 = await new Promise<string>((resolve, reject) => {
        const socket = tlsConnect(
          { host: '127.0.0.1', port: httpsPort, servername: 'alpha.test', rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] },
          () => socket.write('GET /echo?x=1&y=2 HTTP/1.1\r\nhost: alpha.test\r\nx-test: one\r\ncookie: a=1\r\nconnection: close\r\n\r\n'),
        );
        let out = '';
        socket.on('data', (c: Buffer) => (out += c.toString('utf8')));
        socket.on('end', () => resolve(out.slice(out.indexOf('\r\n\r\n') + 4)));
        socket.on('error', reject);
      });
      const session = await h2Session(httpsPort, 'alpha.test');
      try {
        const h2reply = await h2Request(session, { ':path': '/echo?x=1&y=2', ':authority': 'alpha.test', 'x-test': 'one', cookie: 'a=1' });
        assert.equal(h2reply.status, 200);
        const event1 = JSON.parse(h1) as { request: { headers: Record<string, unknown> } };
        const event2 = JSON.parse(h2reply.body) as { request: { headers: Record<string, unknown> } };
        // HTTP/1.1's Connection header is hop-by-hop: it is the one header the HTTP/1.1 event has and HTTP/2 cannot.
        delete event1.request.headers.connection;
        assert.deepEqual(event2, event1);
        assert.equal(event2.request.headers.host && (event2.request.headers.host as { value: string }).value, 'alpha.test');
        assert.ok(Object.keys(event2.request.headers).every((name) => !name.startsWith(':')));
      } finally {
        session.close();
      }
    });

    it('returns the origin response over HTTP/2 as over HTTP/1.1, and sends the origin no pseudo-headers, a host and the request body', async () => {
      const h1 = await viaHttps(httpsPort, 'alpha.test', '/plain/page');
      const session = await h2Session(httpsPort, 'alpha.test');
      try {
        const reply = await h2Request(session, { ':path': '/plain/page', ':authority': 'alpha.test' });
        assert.equal(reply.status, h1.status);
        assert.deepEqual(reply.raw['set-cookie'], ['a=1', 'b=2']);
        assert.equal(reply.raw['via'], h1.headers.via);
        const seen = JSON.parse(reply.body);
        assert.equal(seen.url, '/plain/page');
        assert.ok(Object.keys(seen.headers).every((name: string) => !name.startsWith(':')));

        // No content-length: HTTP/2 frames the body itself.
        const posted = await h2Request(session, { ':path': '/plain/upload', ':method': 'POST', ':authority': 'alpha.test' }, 'streamed body');
        assert.equal(JSON.parse(posted.body).body, 'streamed body');
      } finally {
        session.close();
      }
    });

    it('answers curl --http2 -k over HTTP/2', async (t) => {
      const curl = await new Promise<{ out: string } | undefined>((resolve) =>
        execFile(
          'curl',
          [
            '--http2',
            '-sk',
            '--resolve',
            `alpha.test:${httpsPort}:127.0.0.1`,
            `https://alpha.test:${httpsPort}/plain/curl`,
            '-o',
            '/dev/null',
            '-w',
            '%{http_version} %{http_code}',
          ],
          (err, stdout) => resolve(err && (err as NodeJS.ErrnoException).code === 'ENOENT' ? undefined : { out: stdout }),
        ),
      );
      if (curl === undefined) return t.skip('curl is not installed');
      assert.equal(curl.out, '2 200');
    });

    it('announces its stream limit and refuses a header list over the limit without running the request', async () => {
      const session = await h2Session(httpsPort, 'alpha.test');
      try {
        assert.equal(session.remoteSettings.maxConcurrentStreams, STREAMS);
        assert.equal(session.remoteSettings.maxHeaderListSize, 20_480);
        const before = origin.seen.length;
        await assert.rejects(h2Request(session, { ':path': '/plain/big', ':authority': 'alpha.test', 'x-big': 'x'.repeat(30_000) }));
        assert.equal(origin.seen.length, before);
      } finally {
        session.destroy();
      }
    });

    it('bounds the work of a viewer that opens and resets streams (rapid reset, CVE-2023-44487)', async () => {
      const session = await h2Session(httpsPort, 'alpha.test');
      const before = origin.seen.filter((s) => s.url.startsWith('/hold')).length;
      const closed = new Promise<number | undefined>((resolve) => {
        session.on('goaway', (code: number) => resolve(code));
        session.on('close', () => resolve(undefined));
      });
      session.on('error', () => {});
      const ATTEMPTS = 200;
      let ended = false;
      void closed.then(() => (ended = true));
      // One stream at a time, each reset as soon as its HEADERS are out: the client never has more than one stream
      // open, so only the edge's own count of the work it started can stop it.
      for (let i = 0; i < ATTEMPTS && !ended; i++) {
        const stream = session.request({ ':path': `/hold/${i}`, ':authority': 'alpha.test' });
        stream.on('error', () => {});
        stream.resume();
        if (stream.pending) await Promise.race([new Promise((resolve) => stream.once('ready', resolve)), closed]);
        stream.close(h2.NGHTTP2_CANCEL);
        await Promise.race([new Promise((resolve) => stream.once('close', resolve)), closed]);
      }
      const code = await closed;
      assert.equal(code, h2.NGHTTP2_ENHANCE_YOUR_CALM);
      // Each request the edge took on is held at the origin: they are the work the viewer could make it do.
      const started = origin.seen.filter((s) => s.url.startsWith('/hold')).length - before;
      assert.ok(started <= STREAMS, `${started} requests reached the origin; the limit is ${STREAMS} streams`);
      assert.ok(edge.httpsStats().refusedSessions >= 1);
      origin.release();
      session.destroy();
      // The edge still serves others.
      assert.equal((await viaHttps(httpsPort, 'alpha.test', '/plain/after')).status, 200);
    });
  });
});
