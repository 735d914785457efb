/**
 * The HTTPS listener of the edge: one `tls.Server` that terminates TLS 1.2/1.3, picks the certificate by SNI
 * (certificates.ts), negotiates HTTP/2 or HTTP/1.1 by ALPN as the distribution's `httpVersion` allows, and hands
 * each finished connection to the edge's node:http server (HTTP/1.1) or to a node:http2 server (h2). Both end in
 * the same request pipeline.
 *
 * Bounds (docs/security.md, docs/edge.md#https): a handshake timeout; per distribution, connections below its
 * security policy are closed before a request is read; HTTP/2 streams per connection (SETTINGS_MAX_CONCURRENT_STREAMS),
 * header list size, and the rapid-reset pattern (CVE-2023-44487): a stream the viewer resets stops counting against
 * its concurrency limit, but the request work it started goes on, so the requests in flight per connection are
 * counted until the pipeline is done with them; a connection that goes beyond its stream limit that way is sent
 * GOAWAY (ENHANCE_YOUR_CALM) and closed.
 */
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import { constants as h2, createServer as createHttp2Server, type Http2Session, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import type { ServerTlsConfig } from '../../config/types.js';
import type { CertificateBook } from './certificates.js';
import { adaptHttp2Exchange } from './http2-adapter.js';
import { admitsConnection, listenerTlsSettings } from './security-policy.js';

export interface HttpsListenerOptions {
  host: string;
  port: number;
  certificates: CertificateBook;
  tls: ServerTlsConfig;
  /** The edge's node:http server: TLS connections that speak HTTP/1.1 are handed to it as they are. */
  http1: HttpServer;
  /** The request pipeline; the promise settles when the request's work is done (it never rejects). */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  log(message: string): void;
}

export interface HttpsListener {
  port: number;
  /** HTTP/2 connections closed for having more requests in flight than their stream limit (rapid reset). */
  stats(): { refusedSessions: number; handshakeFailures: number; policyRefusals: number };
  /** Stops accepting connections and ends HTTP/2 sessions gracefully (GOAWAY, open streams finish); resolves when all are gone. */
  drain(): Promise<void>;
  /** Ends every HTTP/2 session at once (a drain's grace period is over). */
  cutAll(): void;
  close(): Promise<void>;
}

export async function startHttpsListener(options: HttpsListenerOptions): Promise<HttpsListener> {
  const { certificates, tls, http1 } = options;
  const counters = { refusedSessions: 0, handshakeFailures: 0, policyRefusals: 0 };
  const sessions = new Set<Http2Session>();
  const inFlight = new WeakMap<Http2Session, number>();
  const cap = tls.maxConcurrentStreams;

  const http2 = createHttp2Server(
    {
      settings: { maxConcurrentStreams: cap, maxHeaderListSize: tls.maxHeaderListSize, enablePush: false },
      maxHeaderListPairs: 256,
      maxSessionRejectedStreams: 100,
      maxSessionInvalidFrames: 1000,
    },
    (req, res) => {
      const session = req.stream.session;
      if (session === undefined) return;
      const running = (inFlight.get(session) ?? 0) + 1;
      if (running > cap) {
        // Only streams the viewer reset while their work went on can push this past the stream limit.
        if (!session.closed) {
          counters.refusedSessions++;
          options.log(`HTTP/2 connection from ${session.socket?.remoteAddress ?? '?'} closed: ${running} requests in flight on ${cap} streams (rapid reset)`);
          // GOAWAY makes nghttp2 ignore every later stream of this connection; close() ends it once no stream is open.
          // (destroy() can stall here waiting on a flush that a reset-heavy peer never lets finish.)
          session.goaway(h2.NGHTTP2_ENHANCE_YOUR_CALM);
          session.close();
        }
        req.stream.close(h2.NGHTTP2_REFUSED_STREAM);
        return;
      }
      inFlight.set(session, running);
      const adapted = adaptHttp2Exchange(req, res);
      void options.handle(adapted.req, adapted.res).finally(() => inFlight.set(session, (inFlight.get(session) ?? 1) - 1));
    },
  );
  http2.on('session', (session: Http2Session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
    session.on('error', () => session.destroy());
    // An idle connection is closed like an HTTP/1.1 keep-alive one.
    session.setTimeout(http1.keepAliveTimeout || 5_000, () => session.close());
  });
  http2.on('stream', (stream: ServerHttp2Stream) => stream.on('error', () => stream.destroy()));

  const offered = listenerTlsSettings(certificates.policies());
  const server: TlsServer = createTlsServer({
    ...offered,
    ...certificates.defaultPem(),
    honorCipherOrder: true,
    handshakeTimeout: tls.handshakeTimeoutMs,
    SNICallback: (servername, cb) => cb(null, certificates.forServerName(servername).context),
    // Chosen per distribution: `http1.1` distributions never negotiate h2.
    ALPNCallback: ({ servername, protocols }) => {
      const http2Allowed = certificates.forServerName(servername).distribution?.config.httpVersion !== 'http1.1';
      if (http2Allowed && protocols.includes('h2')) return 'h2';
      return protocols.includes('http/1.1') ? 'http/1.1' : undefined;
    },
  });
  // Connections without SNI get the server's own context; SNICallback covers the rest and sees every reload.
  certificates.onDefaultChange((pem) => server.setSecureContext({ ...offered, honorCipherOrder: true, ...pem }));
  // With a listener here, closing the socket is ours to do (handshake timeouts included).
  server.on('tlsClientError', (_err, socket) => {
    counters.handshakeFailures++;
    socket.destroy();
  });
  server.on('secureConnection', (socket: TLSSocket) => {
    const viewer = certificates.forServerName(socket.servername);
    if (!admitsConnection(viewer.policy, socket.getProtocol(), socket.getCipher())) {
      counters.policyRefusals++;
      socket.destroy();
      return;
    }
    if (socket.alpnProtocol === 'h2') http2.emit('connection', socket);
    else http1.emit('connection', socket as Socket);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    stats: () => ({ ...counters }),
    async drain() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const session of sessions) session.close();
      await closed;
    },
    cutAll() {
      for (const session of sessions) session.destroy();
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const session of sessions) session.destroy();
      await closed;
    },
  };
}
