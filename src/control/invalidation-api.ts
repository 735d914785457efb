/**
 * Cache invalidation through the native API:
 *
 *   POST /openfront/v1/distributions/{id}/invalidations   {"paths": ["/images/*", "/index.html"]}
 *
 * answers `{"distributionId", "paths", "invalidated": <objects dropped>}` and leaves an audit record, like every
 * other change made through the API.
 */
import { SIGV4_ALGORITHM } from './auth/sigv4.js';
import { access } from './auth/route-access.js';
import { NATIVE_SIGNING_SERVICE } from './auth/sign-request.js';
import { parseJsonObject } from './http/json-body.js';
import type { RouteGroup } from './http/router.js';
import { badRequest, json, NATIVE_API_PREFIX } from './native-api.js';

/** What the API needs from the edge: CloudFront-style path invalidation. */
export interface Invalidator {
  /** A promise when the edge is several worker processes (their counts summed). */
  invalidate(distributionId: string, paths: string[]): number | Promise<number>;
}

export function invalidationRouteGroup(edge: Invalidator): RouteGroup {
  return (router, { state }) => {
    const prefix = `${NATIVE_API_PREFIX}/distributions`;
    router.group({ protocol: 'native-json', prefix, signing: { services: [NATIVE_SIGNING_SERVICE], algorithms: [SIGV4_ALGORITHM] } }).post(
      `${prefix}/{Id}/invalidations`,
      async (req, { Id }, principal) => {
        const body = parseJsonObject(req.body, 'BAD_REQUEST');
        const paths = body.paths;
        if (!Array.isArray(paths) || paths.length === 0 || !paths.every((p) => typeof p === 'string' && p.length > 0)) {
          throw badRequest('The body must be {"paths": ["/path", "/prefix/*", …]} with at least one path');
        }
        const invalidated = await edge.invalidate(Id, paths as string[]);
        await state.audit.append({
          accessKeyId: principal.accessKeyId,
          operation: 'CreateInvalidation',
          keys: [],
          changes: [],
          detail: { distributionId: Id, paths, invalidated },
        });
        return json(201, { distributionId: Id, paths, invalidated });
        // Distributions are not among the resources a policy names: only admin keys invalidate.
      },
      { access: access.admin },
    );
  };
}
