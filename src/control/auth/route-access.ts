/**
 * What each API route needs from the caller's policy (`policy.ts`): an action, and how to find the store or
 * function the call acts on. Routes declare it where they are registered:
 *
 *     scope.get(`${PREFIX}/{Name}/history`, handler, { access: access.store('kvs:read') })
 *
 * A route that declares nothing needs `admin`, so a route added without thought is closed, not open. The mapping of
 * every route is in docs/safe-changes.md ("Permissions and ownership").
 */
import type { NodeState } from '../../state/types.js';
import type { ApiRequest, RouteParams } from '../http/types.js';
import { ALL_RESOURCES, type PolicyAction } from './policy.js';

/** What a route requires. */
export interface RouteAccess {
  action: PolicyAction;
  /**
   * The name of the store or function the call acts on, {@link ALL_RESOURCES} for a call over all of them. Runs
   * after authentication and before the handler; may look at the body only to find a name (a create's).
   * Undefined: {@link ALL_RESOURCES}.
   */
  resource?: (req: ApiRequest, params: RouteParams, state: NodeState) => string | Promise<string>;
  /**
   * For a call that acts on several resources at once (a release: its functions and its stores): every permission
   * it needs, all required; replaces `resource`. An empty list needs `action` on every resource.
   */
  requirements?: (req: ApiRequest, params: RouteParams, state: NodeState) => Promise<Array<{ action: PolicyAction; resource: string }>>;
}

/** What routes that declare nothing require. */
export const ADMIN_ONLY: RouteAccess = { action: 'admin' };

export const access = {
  /** On every store or function at once (list operations, audit, metrics): needs a permission on `*`. */
  all: (action: PolicyAction): RouteAccess => ({ action }),
  /** On the store named by a path parameter (default `{Name}`). */
  store: (action: PolicyAction, param = 'Name'): RouteAccess => ({ action, resource: (_req, params) => params[param] }),
  /**
   * On the store whose ARN is a path parameter (the data plane). An ARN no store has stays the resource as it is:
   * only a key allowed on `*` then learns that the store does not exist.
   */
  storeByArn: (action: PolicyAction, param = 'KvsARN'): RouteAccess => ({
    action,
    resource: async (_req, params, state) => {
      const arn = params[param];
      const store = await state.stores.getStore({ arn }).catch(() => undefined);
      return store?.name ?? arn;
    },
  }),
  /** On the function named by a path parameter (default `{Name}`). */
  function: (action: PolicyAction, param = 'Name'): RouteAccess => ({ action, resource: (_req, params) => params[param] }),
  /**
   * On the resource a request names outside its path (a create's body, a query parameter); `find` answers
   * undefined when it cannot tell, and the call then needs the action on every resource.
   */
  named: (action: PolicyAction, find: (req: ApiRequest, params: RouteParams) => string | undefined): RouteAccess => ({
    action,
    resource: (req, params) => {
      let name: string | undefined;
      try {
        name = find(req, params);
      } catch {
        // A body that cannot be read names nothing; the handler reports what is wrong with it, to whoever may call it.
        name = undefined;
      }
      return name ?? ALL_RESOURCES;
    },
  }),
  /** Only admin keys (reload, invalidations): said explicitly, unlike a route that declares nothing. */
  admin: { action: 'admin' } as RouteAccess,
};
