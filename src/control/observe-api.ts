/**
 * The native API's window on edge decisions and the node's metrics (docs/observability.md), signed like every
 * native call (SigV4, signing name "openfront"):
 *
 * - `GET /openfront/v1/decisions?distribution=&function=&status=&path=&limit=` — recent decisions, newest first.
 * - `GET /openfront/v1/decisions/{requestId}` — one decision by its `x-openfront-request-id`.
 * - `GET /openfront/v1/decisions/stream?distribution=&function=&status=&path=&sample=` — live, server-sent events.
 * - `GET /metrics` — Prometheus exposition (signed here; the unsigned scrape endpoint is the metrics listener).
 */
import { OpenFrontError } from '../errors.js';
import type { DecisionSource } from '../observe/decision-source.js';
import { filterFromQuery } from '../observe/filter.js';
import type { DecisionStreams } from '../observe/live-stream.js';
import { NATIVE_SIGNING_SERVICE } from './auth/sign-request.js';
import { SIGV4_ALGORITHM } from './auth/sigv4.js';
import { access } from './auth/route-access.js';
import type { RouteGroup } from './http/router.js';
import { json, NATIVE_API_PREFIX } from './native-api.js';

export const DECISIONS_PATH = `${NATIVE_API_PREFIX}/decisions`;
export const METRICS_PATH = '/metrics';

/** Most decisions one list request returns. */
export const MAX_DECISIONS_LIMIT = 1000;
const DEFAULT_DECISIONS_LIMIT = 100;

export interface ObserveRoutesOptions {
  decisions: DecisionSource;
  streams: DecisionStreams;
  /** The node's Prometheus exposition. */
  metrics?: () => Promise<{ contentType: string; body: string }>;
}

export function observeRouteGroup(options: ObserveRoutesOptions): RouteGroup {
  return (router) => {
    const signing = { services: [NATIVE_SIGNING_SERVICE], algorithms: [SIGV4_ALGORITHM] } as const;
    // Decisions and metrics show what every distribution served: an operator's view, like the audit log.
    const observe = { access: access.all('audit:read') };
    router
      .group({ protocol: 'native-json', prefix: DECISIONS_PATH, signing, maxBodyBytes: 0 })
      .get(
        `${DECISIONS_PATH}/stream`,
        (req) => {
          const filter = filterFromQuery((name) => req.queryParam(name));
          const release = options.streams.reserve();
          return {
            status: 200,
            headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' },
            stream: (res) => options.streams.attach(res, filter, release, { requestId: req.requestId }),
          };
        },
        observe,
      )
      .get(
        DECISIONS_PATH,
        (req) => {
          const filter = filterFromQuery((name) => req.queryParam(name));
          if (req.queryParam('sample') !== undefined) throw new OpenFrontError('BAD_REQUEST', 'sample applies to the live stream only');
          const limitText = req.queryParam('limit');
          let limit = DEFAULT_DECISIONS_LIMIT;
          if (limitText !== undefined) {
            if (!/^\d{1,9}$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > MAX_DECISIONS_LIMIT) {
              throw new OpenFrontError('BAD_REQUEST', `limit must be an integer from 1 to ${MAX_DECISIONS_LIMIT}`);
            }
            limit = Number(limitText);
          }
          return json(200, { items: options.decisions.recent(filter, limit) });
        },
        observe,
      )
      .get(
        `${DECISIONS_PATH}/{RequestId}`,
        (_req, { RequestId }) => {
          const record = options.decisions.get(RequestId);
          if (record === undefined) {
            throw new OpenFrontError(
              'NOT_FOUND',
              `No recent decision for request ${RequestId}: it is older than the ring buffer holds, or was served by another edge`,
            );
          }
          return json(200, record);
        },
        observe,
      );

    const metrics = options.metrics;
    if (metrics !== undefined) {
      router.group({ protocol: 'native-json', prefix: METRICS_PATH, signing, maxBodyBytes: 0 }).get(
        METRICS_PATH,
        async () => {
          const { contentType, body } = await metrics();
          return { status: 200, headers: { 'content-type': contentType }, body };
        },
        observe,
      );
    }
  };
}
