/**
 * The router's authorization step over a node's state: finds the caller's policy, asks `policy.ts`, and leaves an
 * `AccessDenied` audit record (key id, action, resource) for every refused call.
 */
import type { NodeState } from '../../state/types.js';
import type { Authorize } from '../http/router.js';
import { ALL_RESOURCES, isAllowed, permissionText } from './policy.js';

/** The operation of the audit record a denied call leaves. */
export const ACCESS_DENIED_OPERATION = 'AccessDenied';

export function policyAuthorizer(state: NodeState): Authorize {
  return async (principal, access, req, params) => {
    const found = await state.accessKeys.lookupPolicy(principal.accessKeyId);
    // An admin key needs no resource: the data plane's ARN lookup is skipped for it.
    if (found !== undefined && found.policy === undefined) return { allowed: true };
    const resource = access.resource === undefined ? ALL_RESOURCES : await access.resource(req, params, state);
    if (found !== undefined && isAllowed(found.policy, access.action, resource)) return { allowed: true };
    const named =
      resource === ALL_RESOURCES
        ? {}
        : access.action.startsWith('kvs:')
          ? { storeName: resource }
          : access.action.startsWith('function:')
            ? { functionName: resource }
            : {};
    await state.audit.append({
      accessKeyId: principal.accessKeyId,
      operation: ACCESS_DENIED_OPERATION,
      ...named,
      keys: [],
      changes: [],
      detail: { action: access.action, resource, method: req.method, path: req.rawPath },
    });
    return {
      allowed: false,
      message: `The access key ${principal.accessKeyId} is not allowed ${permissionText(access.action, resource)}: its policy lacks that permission`,
      details: { action: access.action, resource },
    };
  };
}
