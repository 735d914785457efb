/**
 * The control-plane HTTP API server: the KVS data plane (restJson1), the CloudFront store API (restXml) and the
 * native JSON API on one `node:http` listener, every request authenticated. More route groups (the function API,
 * invalidations, …) plug in through `routes`.
 */
import { createServer } from 'node:http';
import { isIP } from 'node:net';
import { OpenFrontError } from '../errors.js';
import type { NodeState } from '../state/types.js';
import { RequestVerifier } from './auth/verify-request.js';
import { policyAuthorizer } from './auth/authorizer.js';
import { DEFAULT_API_LIMITS, type ApiLimits } from './http/limits.js';
import { Router, type Authenticate, type Authorize, type RouteGroup } from './http/router.js';
import { kvsControlPlaneRoutes } from './kvs-control-plane.js';
import { kvsDataPlaneRoutes } from './kvs-data-plane.js';
import { kvsHistoryRoutes } from './kvs-history-api.js';
import { kvsSchemaRoutes } from './kvs-schema-api.js';
import { nativeApiRoutes } from './native-api.js';
import { ownershipRoutes } from './ownership-routes.js';
import { answerProbe, type Probes } from './http/probes.js';
import type { PropagationView } from '../observe/propagation.js';
import { propagationAround } from './propagation-wait.js';
import { propagationRouteGroup } from './propagation-routes.js';
import { releaseRouteGroup } from './release-routes.js';
import { openFrontError } from '../errors.js';

export interface ApiServerOptions {
  /** Where stores, functions, access keys and audit records live (SQLite for `start`, JetStream for `control`). */
  state: NodeState;
  /** Interface to listen on. Default 127.0.0.1. */
  host?: string;
  /** Default 8787; 0 picks a free port (see `ApiServer.port`). */
  port?: number;
  /**
   * `insecureNoAuth` skips signature checks (callers are recorded as "anonymous"). Refused unless `host` is a
   * loopback address, so an unauthenticated API can never be reachable from another machine.
   */
  auth?: { insecureNoAuth?: boolean };
  /** Clock for signature skew checks. */
  now?: () => Date;
  /**
   * The only directory CreateKeyValueStore's ImportSource may read from (S3 ARN `arn:aws:s3:::bucket/key` or a
   * relative path → a file under it). Unset (the default): ImportSource is refused.
   */
  importDir?: string;
  /** More route groups (function API, invalidation, …), registered after the built-in ones. */
  routes?: RouteGroup[];
  /** Connection, concurrency and time bounds; each unset one takes its value from `DEFAULT_API_LIMITS`. */
  limits?: Partial<ApiLimits>;
  /** Unauthenticated `/healthz` and `/readyz` (docs/deploy.md); without them those paths are ordinary API paths. */
  probes?: Probes;
  /**
   * The edges: writes wait for them with `?wait=all`, and the propagation routes (`…/propagation`, `/openfront/v1/edges`)
   * answer from them (docs/fleet.md). Without it writes still answer with their version.
   */
  propagation?: PropagationView;
}

export interface ApiServer {
  /** Base URL, e.g. "http://127.0.0.1:8787". */
  url: string;
  port: number;
  close(): Promise<void>;
  readonly router: Router;
}

/** Principal recorded for requests served with `insecureNoAuth`. */
export const ANONYMOUS_ACCESS_KEY_ID = 'anonymous';

function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || host === '0:0:0:0:0:0:0:1';
}

export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const host = options.host ?? '127.0.0.1';
  const now = options.now ?? (() => new Date());
  let authenticate: Authenticate;
  // Keys' policies (docs/safe-changes.md): without authentication there is no key, so nothing to limit.
  let authorize: Authorize | undefined;
  if (options.auth?.insecureNoAuth) {
    if (!isLoopback(host)) {
      throw openFrontError(
        'CONFIG_INVALID',
        `insecureNoAuth is only allowed on a loopback address (127.0.0.1, ::1, localhost), not on ${host}: create an access key with \`openfront keys create\` instead`,
      );
    }
    authenticate = () => ({ kind: 'verified', principal: { accessKeyId: ANONYMOUS_ACCESS_KEY_ID } });
  } else {
    const verifier = new RequestVerifier({ now });
    const lookupSecret = (id: string) => options.state.accessKeys.secret(id);
    authenticate = (head, expectation) => verifier.verifyHeadAsync(head, expectation, lookupSecret);
    authorize = policyAuthorizer(options.state);
  }

  const limits: ApiLimits = { ...DEFAULT_API_LIMITS, ...options.limits };
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw new OpenFrontError(
      'CONFIG_INVALID',
      `api.headersTimeoutMs (${limits.headersTimeoutMs}) must not exceed api.requestTimeoutMs (${limits.requestTimeoutMs})`,
    );
  }
  const router = new Router({
    authenticate,
    authorize,
    maxUnauthenticatedInFlight: limits.maxUnauthenticatedInFlight,
    // A wait must answer before the idle timeout would cut the silent connection.
    around: propagationAround(options.propagation, { now: () => now().getTime(), maxTimeoutMs: limits.idleTimeoutMs - 1000 }),
  });
  const ctx = { state: options.state, now, importDir: options.importDir };
  const propagationRoutes = options.propagation === undefined ? [] : [propagationRouteGroup(options.propagation)];
  for (const group of [
    kvsDataPlaneRoutes,
    kvsControlPlaneRoutes,
    nativeApiRoutes,
    kvsSchemaRoutes,
    kvsHistoryRoutes,
    ownershipRoutes,
    releaseRouteGroup,
    ...propagationRoutes,
    ...(options.routes ?? []),
  ])
    group(router, ctx);

  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // The two timeouts above are enforced by a sweep at this interval; Node's default (30 s) would stretch them.
      connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
    },
    options.probes === undefined
      ? router.listener
      : (req, res) => {
          if (!answerProbe(options.probes!, req, res)) router.listener(req, res);
        },
  );
  server.maxConnections = limits.maxConnections;
  // With no 'timeout' listener, a socket idle this long is destroyed.
  server.setTimeout(limits.idleTimeoutMs);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8787, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : (options.port ?? 8787);
  const urlHost = isIP(host) === 6 ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    router,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
