/** `startEdge`: the HTTP edge as a `node:http` server over the request pipeline. */
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';
import type { CertificateFiles, EdgeConfig, ServerTlsConfig } from '../config/types.js';
import { openFrontError } from '../errors.js';
import type { EdgeLocation } from '../runtime/types.js';
import { ResponseCache } from './cache/response-cache.js';
import type { EdgeDebug } from './debug.js';
import { DistributionRouter } from './distribution.js';
import type { FunctionSource } from './function-source.js';
import { FunctionThrottle, type FunctionThrottleStats, type ThrottleLimits } from './function-throttle.js';
import { OriginFetcher } from './origins/fetch.js';
import { ErrorCatalog } from '../errors.js';
import { errorPage } from './errors-page.js';
import { ERROR_HEADER, EdgePipeline } from './pipeline.js';
import { nextRequestId } from './request-id.js';
import { CertificateBook, DEFAULT_ENTRY, type CertificateSource } from './listen/certificates.js';
import { startHttpsListener, type HttpsListener } from './listen/https-listener.js';

/** server.tls when the config has none. */
export const DEFAULT_SERVER_TLS: ServerTlsConfig = {
  minimumProtocolVersion: 'TLSv1.2_2021',
  handshakeTimeoutMs: 10_000,
  reloadIntervalMs: 5_000,
  maxConcurrentStreams: 128,
  maxHeaderListSize: 20_480,
};

export interface StartEdgeOptions {
  config: EdgeConfig;
  functions: FunctionSource;
  /** Defaults to `config.server.host`. */
  host?: string;
  /** Defaults to `config.server.port` (8080); 0 picks a free port. */
  port?: number;
  /** Byte budget of the response cache; defaults to `config.server.cacheBytes`; 0 disables caching. */
  cacheBytes?: number;
  /** `cf.edgeLocation` for viewer-request functions. */
  edgeLocation?: EdgeLocation;
  /** Clock of the cache in ms (tests). */
  now?: () => number;
  /** Bounds of the per-path function throttle (defaults: DEFAULT_THROTTLE_LIMITS, docs/security.md). */
  throttle?: Partial<ThrottleLimits>;
  /** Answers `openfront explain`'s signed debug header (docs/observability.md); without it the header is ignored. */
  debug?: EdgeDebug;
  /** HTTPS listener port; defaults to `config.server.httpsPort`; absent: no HTTPS. 0 picks a free port. */
  httpsPort?: number;
  /** Used when the config names no `server.tls.defaultCertificate` (`openfront start` passes a self-signed one). */
  defaultCertificate?: CertificateFiles;
  /** Certificate reloads and HTTPS refusals are reported here (default: stderr). */
  log?: (message: string) => void;
}

export interface EdgeServer {
  /** `http://host:port` */
  url: string;
  port: number;
  /** Drops cached objects of a distribution matching CloudFront invalidation paths; returns how many went. */
  invalidate(distributionId: string, paths: string[]): number;
  /** Per function: requests throttled, invocations killed and run in quarantine since this edge started. */
  functionStats(): Record<string, FunctionThrottleStats>;
  /** The response cache's size and evictions (metrics). */
  cacheStats(): { bytes: number; entries: number; evictions: number };
  /** `https://host:port` when the edge listens for HTTPS. */
  httpsUrl?: string;
  httpsPort?: number;
  /** Subjects of the certificates in use, by distribution id (`(default)` for the default one). */
  certificates(): Record<string, string>;
  /** Checks the certificate files now (they are also checked every `server.tls.reloadIntervalMs`). */
  reloadCertificates(): Promise<void>;
  /** HTTPS refusals: handshakes that failed, connections below their policy, HTTP/2 connections closed for rapid reset. */
  httpsStats(): { refusedSessions: number; handshakeFailures: number; policyRefusals: number };
  close(): Promise<void>;
}

export async function startEdge(options: StartEdgeOptions): Promise<EdgeServer> {
  const { config } = options;
  const host = options.host ?? config.server.host;
  const router = new DistributionRouter(config.distributions);
  const cache = new ResponseCache({ maxBytes: options.cacheBytes ?? config.server.cacheBytes, now: options.now });
  const origins = new OriginFetcher();
  const throttle = new FunctionThrottle(options.throttle);
  const pipelineOptions: ConstructorParameters<typeof EdgePipeline>[0] = {
    throttle,
    router,
    functions: options.functions,
    cache,
    origins,
    nodeId: config.server.nodeId,
    edgeLocation: options.edgeLocation ?? { name: 'LCL', serverIp: host, region: 'local' },
    debug: options.debug,
  };
  const pipeline = new EdgePipeline(pipelineOptions);
  const server: Server = createServer({ keepAliveTimeout: 5_000 }, (req, res) => {
    void pipeline.handle(req, res);
  });
  // A CONNECT (tunnel) request never reaches the request handler: answer it instead of dropping the connection.
  server.on('connect', (_req, socket: Duplex) => {
    socket.on('error', () => socket.destroy());
    const { status, awsType: name } = ErrorCatalog.EDGE_METHOD_NOT_ALLOWED;
    const body = errorPage('EDGE_METHOD_NOT_ALLOWED', nextRequestId());
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: ${body.length}\r\n` +
        `Allow: GET, HEAD, OPTIONS, PUT, POST, PATCH, DELETE\r\n${ERROR_HEADER}: ${name}\r\nConnection: close\r\n\r\n${body.toString('latin1')}`,
      'latin1',
    );
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? config.server.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const httpsPort = options.httpsPort ?? config.server.httpsPort;
  let https: { listener: HttpsListener; book: CertificateBook } | undefined;
  if (httpsPort !== undefined) {
    try {
      https = await startHttps(options, router, server, (req, res) => pipeline.handle(req, res), httpsPort, host);
    } catch (err) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await origins.close();
      throw err;
    }
    // Read per request: redirect-to-https Locations name the port only known now (port 0 in tests).
    pipelineOptions.httpsPort = https.listener.port;
  }
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    ...(https === undefined ? {} : { httpsUrl: `https://${urlHost}:${https.listener.port}`, httpsPort: https.listener.port }),
    certificates: () => https?.book.subjects() ?? {},
    reloadCertificates: async () => https?.book.checkForChanges(),
    httpsStats: () => https?.listener.stats() ?? { refusedSessions: 0, handshakeFailures: 0, policyRefusals: 0 },
    invalidate(distributionId, paths) {
      if (router.byId(distributionId) === undefined) throw openFrontError('NOT_FOUND', `No distribution with id "${distributionId}"`, { distributionId });
      return cache.invalidate(distributionId, paths);
    },
    functionStats: () => throttle.allStats(),
    cacheStats: () => cache.stats(),
    async close() {
      if (https !== undefined) {
        https.book.close();
        await https.listener.close();
      }
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await origins.close();
      cache.clear();
    },
  };
}

async function startHttps(
  options: StartEdgeOptions,
  router: DistributionRouter,
  http1: Server,
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  port: number,
  host: string,
): Promise<{ listener: HttpsListener; book: CertificateBook }> {
  const tls = options.config.server.tls ?? DEFAULT_SERVER_TLS;
  const fallback = tls.defaultCertificate ?? options.defaultCertificate;
  if (fallback === undefined)
    throw openFrontError(
      'EDGE_CERTIFICATE_INVALID',
      'HTTPS needs a default certificate: set server.tls.defaultCertificate (openfront start makes a self-signed one)',
    );
  const sources: CertificateSource[] = [{ id: DEFAULT_ENTRY, files: fallback, policy: tls.minimumProtocolVersion }];
  for (const d of options.config.distributions) {
    if (d.viewerCertificate !== undefined)
      sources.push({
        id: d.id,
        files: { certificatePath: d.viewerCertificate.certificatePath, privateKeyPath: d.viewerCertificate.privateKeyPath },
        policy: d.viewerCertificate.minimumProtocolVersion,
      });
  }
  const log = options.log ?? ((message: string) => process.stderr.write(`openfront edge: ${message}\n`));
  const book = await CertificateBook.load(router, sources, log);
  try {
    const listener = await startHttpsListener({ host, port, certificates: book, tls, http1, handle, log });
    book.watch(tls.reloadIntervalMs);
    return { listener, book };
  } catch (err) {
    book.close();
    throw err;
  }
}
