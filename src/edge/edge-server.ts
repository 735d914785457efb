/** `startEdge`: the HTTP edge as a `node:http` server over the request pipeline. */
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';
import type { CertificateFiles, EdgeConfig, ServerTlsConfig } from '../config/types.js';
import { openFrontError } from '../errors.js';
import type { EdgeLocation } from '../runtime/types.js';
import { ResponseCache } from './cache/response-cache.js';
import type { EdgeObserver } from '../observe/request-facts.js';
import type { EdgeDebug } from './debug.js';
import { DistributionRouter } from './distribution.js';
import type { FunctionSource } from './function-source.js';
import { FunctionThrottle, type FunctionThrottleStats, type ThrottleLimits } from './function-throttle.js';
import { OriginFetcher } from './origins/fetch.js';
import { ErrorCatalog } from '../errors.js';
import { errorPage } from './errors-page.js';
import { ERROR_HEADER, EdgePipeline } from './pipeline.js';
import { nextRequestId } from './request-id.js';
import { clientErrorStatus, VIEWER_LIMITS } from './request-guard.js';
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
  /**
   * Directory of the cache's disk tier (emptied at start; config `server.cache.diskDir` wins). Without either, the
   * edge has no disk tier and objects above `server.cache.memoryObjectBytes` are streamed through uncached.
   */
  cacheDir?: string;
  /** `cf.edgeLocation` for viewer-request functions. */
  edgeLocation?: EdgeLocation;
  /** Clock of the cache in ms (tests). */
  now?: () => number;
  /** Bounds of the per-path function throttle (defaults: DEFAULT_THROTTLE_LIMITS, docs/security.md). */
  throttle?: Partial<ThrottleLimits>;
  /** Answers `openfront explain`'s signed debug header (docs/observability.md); without it the header is ignored. */
  debug?: EdgeDebug;
  /** Told about every request: metrics and the decision ring (docs/observability.md, "Cost"). */
  observer?: EdgeObserver;
  /** Headers set on every response before the pipeline writes its own (`--worker-header`, docs/deploy.md). */
  responseHeaders?: ReadonlyArray<readonly [string, string]>;
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
  /**
   * Serves `config` from now on, on the same sockets: requests already in flight finish on the config they started
   * with. Settings that need new sockets or a new cache are not applied; they come back in `restartNeeded`.
   */
  reconfigure(config: EdgeConfig): EdgeReconfigureResult;
  /**
   * Stops accepting connections, tells keep-alive clients to close, lets requests in flight finish for up to
   * `graceMs`, then cuts what is left and closes like `close()`. Resolves with how many requests were cut.
   */
  drain(graceMs: number): Promise<{ cut: number }>;
  /** Requests being answered now. */
  readonly inFlight: number;
  /** True from `drain` or `close` on. */
  readonly draining: boolean;
  close(): Promise<void>;
}

export interface EdgeReconfigureResult {
  /** Config settings that changed but only take effect after a restart (e.g. `server.port`). */
  restartNeeded: string[];
}

export async function startEdge(options: StartEdgeOptions): Promise<EdgeServer> {
  const { config } = options;
  const host = options.host ?? config.server.host;
  const tiers = config.server.cache;
  const diskDir = tiers.diskDir ?? options.cacheDir;
  const cache = new ResponseCache({
    maxBytes: options.cacheBytes ?? config.server.cacheBytes,
    maxObjectBytes: tiers.memoryObjectBytes,
    disk: diskDir === undefined ? undefined : { dir: diskDir, maxBytes: tiers.diskBytes, maxObjectBytes: tiers.maxObjectBytes },
    now: options.now,
  });
  const origins = new OriginFetcher();
  const throttle = new FunctionThrottle(options.throttle);
  const edgeLocation = options.edgeLocation ?? { name: 'LCL', serverIp: host, region: 'local' };
  // Known once the HTTPS listener is up; redirect-to-https Locations name it (port 0 in tests).
  let httpsListenerPort: number | undefined;
  const serving = (next: EdgeConfig) => {
    const router = new DistributionRouter(next.distributions);
    const pipeline = new EdgePipeline({
      throttle,
      router,
      functions: options.functions,
      cache,
      origins,
      nodeId: next.server.nodeId,
      edgeLocation,
      debug: options.debug,
      observer: options.observer,
      httpsPort: httpsListenerPort,
    });
    return { config: next, router, pipeline };
  };
  // One reference swapped whole by `reconfigure`: a request reads it once, so it runs on one config start to end.
  let current = serving(config);
  const inFlight = new Set<ServerResponse>();
  let draining = false;
  const extraHeaders = options.responseHeaders ?? [];
  // Every request, whatever its listener and protocol: HTTP/1.1 (plain or TLS) and HTTP/2.
  // One listener for every response (`this` is the response): no closure made per request on the hot path.
  function responseClosed(this: ServerResponse): void {
    inFlight.delete(this);
    // A response that had already started when the drain began kept its keep-alive: end its connection now.
    if (draining && this.req.httpVersionMajor === 1) this.req.socket.end();
  }
  const handle = (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    for (const [name, value] of extraHeaders) res.setHeader(name, value);
    // HTTP/2 has no Connection header: a draining HTTP/2 session is ended by GOAWAY instead.
    if (draining && req.httpVersionMajor === 1) res.setHeader('connection', 'close');
    inFlight.add(res);
    res.on('close', responseClosed);
    return current.pipeline.handle(req, res);
  };
  const server: Server = createServer({ keepAliveTimeout: 5_000, maxHeaderSize: VIEWER_LIMITS.requestHeadBytes }, (req, res) => {
    void handle(req, res);
  });
  // node:http would otherwise keep only the first ~1,000 headers and drop the rest unseen; the head's byte limit
  // (VIEWER_LIMITS.requestHeadBytes) bounds their number instead, as in CloudFront.
  server.maxHeadersCount = 0;
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
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    const status = clientErrorStatus(err);
    if (socket.writable) socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
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
      // SNI follows the distributions `reconfigure` installs: the book asks whichever router is current.
      https = await startHttps(options, { match: (hostName) => current.router.match(hostName) }, server, handle, httpsPort, host);
    } catch (err) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await origins.close();
      throw err;
    }
    httpsListenerPort = https.listener.port;
    current = serving(current.config);
  }
  const closeListeners = async () => {
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
  };
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    ...(https === undefined ? {} : { httpsUrl: `https://${urlHost}:${https.listener.port}`, httpsPort: https.listener.port }),
    certificates: () => https?.book.subjects() ?? {},
    reloadCertificates: async () => https?.book.checkForChanges(),
    httpsStats: () => https?.listener.stats() ?? { refusedSessions: 0, handshakeFailures: 0, policyRefusals: 0 },
    invalidate(distributionId, paths) {
      if (current.router.byId(distributionId) === undefined)
        throw openFrontError('NOT_FOUND', `No distribution with id "${distributionId}"`, { distributionId });
      return cache.invalidate(distributionId, paths);
    },
    functionStats: () => throttle.allStats(),
    cacheStats: () => cache.stats(),
    reconfigure(next) {
      const restartNeeded = socketSettingsChanged(current.config, next, options);
      const kept = new Set(next.distributions.map((d) => d.id));
      const removed = current.config.distributions.filter((d) => !kept.has(d.id)).map((d) => d.id);
      current = serving(next);
      // Objects of a distribution that is gone can never be asked for again: free their bytes now.
      for (const id of removed) cache.invalidate(id, ['/*']);
      return { restartNeeded };
    },
    async drain(graceMs) {
      draining = true;
      // Responses not yet started end their connection; idle keep-alive connections are closed by server.close.
      for (const res of inFlight) if (!res.headersSent) res.setHeader('connection', 'close');
      const closed = Promise.all([new Promise<void>((resolve) => server.close(() => resolve())), https?.listener.drain() ?? Promise.resolve()]);
      server.closeIdleConnections();
      let cut = 0;
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<'grace-over'>((resolve) => {
        timer = setTimeout(() => resolve('grace-over'), graceMs);
      });
      if ((await Promise.race([closed.then(() => 'closed' as const), graceOver])) === 'grace-over') {
        cut = inFlight.size;
        server.closeAllConnections();
        https?.listener.cutAll();
        await closed;
      }
      clearTimeout(timer);
      https?.book.close();
      await origins.close();
      cache.clear();
      return { cut };
    },
    get inFlight() {
      return inFlight.size;
    },
    get draining() {
      return draining;
    },
    async close() {
      draining = true;
      await closeListeners();
    },
  };
}

/** Config settings `reconfigure` cannot apply to a running edge: they are bound to its sockets or its cache. */
export function socketSettingsChanged(
  before: EdgeConfig,
  after: EdgeConfig,
  options: Pick<StartEdgeOptions, 'host' | 'port' | 'httpsPort' | 'cacheBytes'>,
): string[] {
  const changed: string[] = [];
  if (options.host === undefined && before.server.host !== after.server.host) changed.push('server.host');
  if (options.port === undefined && before.server.port !== after.server.port) changed.push('server.port');
  if (options.cacheBytes === undefined && before.server.cacheBytes !== after.server.cacheBytes) changed.push('server.cacheBytes');
  if (JSON.stringify(before.server.cache) !== JSON.stringify(after.server.cache)) changed.push('server.cache');
  if (options.httpsPort === undefined && before.server.httpsPort !== after.server.httpsPort) changed.push('server.httpsPort');
  // Certificate files are read when the HTTPS listener starts (then watched for changes in place).
  if (JSON.stringify(before.server.tls) !== JSON.stringify(after.server.tls)) changed.push('server.tls');
  const certificateOf = (c: EdgeConfig, id: string) => JSON.stringify(c.distributions.find((d) => d.id === id)?.viewerCertificate);
  for (const id of new Set([...before.distributions, ...after.distributions].map((d) => d.id))) {
    if (certificateOf(before, id) !== certificateOf(after, id)) changed.push(`distributions[${id}].viewerCertificate`);
  }
  return changed;
}

async function startHttps(
  options: StartEdgeOptions,
  router: Pick<DistributionRouter, 'match'>,
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
