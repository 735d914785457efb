/** `startEdge`: the HTTP edge as a `node:http` server over the request pipeline. */
import { createServer, STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';
import type { EdgeConfig } from '../config/types.js';
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
  /** Told about every request: metrics and the decision ring (docs/observability.md, "Cost"). */
  observer?: EdgeObserver;
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
  close(): Promise<void>;
}

export async function startEdge(options: StartEdgeOptions): Promise<EdgeServer> {
  const { config } = options;
  const host = options.host ?? config.server.host;
  const router = new DistributionRouter(config.distributions);
  const cache = new ResponseCache({ maxBytes: options.cacheBytes ?? config.server.cacheBytes, now: options.now });
  const origins = new OriginFetcher();
  const throttle = new FunctionThrottle(options.throttle);
  const pipeline = new EdgePipeline({
    throttle,
    router,
    functions: options.functions,
    cache,
    origins,
    nodeId: config.server.nodeId,
    edgeLocation: options.edgeLocation ?? { name: 'LCL', serverIp: host, region: 'local' },
    debug: options.debug,
    observer: options.observer,
  });
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
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    invalidate(distributionId, paths) {
      if (router.byId(distributionId) === undefined) throw openFrontError('NOT_FOUND', `No distribution with id "${distributionId}"`, { distributionId });
      return cache.invalidate(distributionId, paths);
    },
    functionStats: () => throttle.allStats(),
    cacheStats: () => cache.stats(),
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await origins.close();
      cache.clear();
    },
  };
}
