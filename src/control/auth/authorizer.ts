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
    const needed =
      access.requirements !== undefined
        ? await access.requirements(req, params, state)
        : [{ action: access.action, resource: access.resource === undefined ? ALL_RESOURCES : await access.resource(req, params, state) }];
    if (needed.length === 0) needed.push({ action: access.action, resource: ALL_RESOURCES });
    const missing = found === undefined ? needed[0] : needed.find((p) => !isAllowed(found.policy, p.action, p.resource));
    if (missing === undefined) return { allowed: true };
    const { action, resource } = missing;
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
      detail: { action, resource, method: req.method, path: req.rawPath },
    });
    return {
      allowed: false,
      message: `The access key ${principal.accessKeyId} is not allowed ${permissionText(action, resource)}: its policy lacks that permission`,
      details: { action, resource },
    };
  };
}
