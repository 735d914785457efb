/**
 * Config reload through the native API (the same as sending the node SIGHUP):
 *
 *   POST /openfront/v1/reload        (signed like every API call, no body)
 *
 * answers `{"changes": [...], "restartNeeded": [...]}` once the new config serves, or the config's problems with
 * `CONFIG_INVALID` (the old config keeps serving). Reloads run one at a time: a second one while the first runs is
 * refused with `RELOAD_IN_PROGRESS` (409). Each reload leaves an audit record.
 */
import { SIGV4_ALGORITHM } from './auth/sigv4.js';
import { access } from './auth/route-access.js';
import { NATIVE_SIGNING_SERVICE } from './auth/sign-request.js';
import type { RouteGroup } from './http/router.js';
import { json, NATIVE_API_PREFIX } from './native-api.js';

/** What a reload did: what it changed, and the changed settings that only a restart applies. */
export interface ReloadOutcome {
  changes: string[];
  restartNeeded: string[];
}

/** What the API needs from the node: re-read the config file and serve it. */
export interface Reloader {
  reload(): Promise<ReloadOutcome>;
}

export const RELOAD_PATH = `${NATIVE_API_PREFIX}/reload`;

export function reloadRouteGroup(node: Reloader): RouteGroup {
  return (router, { state }) => {
    router
      .group({
        protocol: 'native-json',
        prefix: RELOAD_PATH,
        signing: { services: [NATIVE_SIGNING_SERVICE], algorithms: [SIGV4_ALGORITHM] },
        maxBodyBytes: 1024,
      })
      .post(
        RELOAD_PATH,
        async (_req, _params, principal) => {
          const outcome = await node.reload();
          await state.audit.append({ accessKeyId: principal.accessKeyId, operation: 'ReloadConfig', keys: [], changes: [], detail: { ...outcome } });
          return json(200, outcome);
        },
        { access: access.admin },
      );
  };
}
