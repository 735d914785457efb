/**
 * Access-key policies (docs/safe-changes.md, "Permissions and ownership"): what a key may do, as a list of
 * permissions `<action>:<resource glob>` (`kvs:write:redirects-*`, `function:read:*`) or `admin`. The decision is
 * pure: a policy, an action and a resource name in, allow or deny out; the HTTP layer (`http/router.ts`) asks it for
 * every route before doing any work.
 *
 * A key without a policy (every key made before policies existed, and the one `openfront start` prints) is an admin
 * key. Stronger actions include weaker ones on the same resource, because a write needs the ETag a read returns:
 * `kvs:manage` ⊇ `kvs:write` ⊇ `kvs:read`; `function:update` and `function:publish` each ⊇ `function:read` (and
 * neither includes the other: who writes code and who ships it may be different people); `admin` ⊇ everything.
 */
import { OpenFrontError } from '../../errors.js';

/** Every action a route can require. */
export const POLICY_ACTIONS = ['kvs:read', 'kvs:write', 'kvs:manage', 'function:read', 'function:update', 'function:publish', 'audit:read', 'admin'] as const;

export type PolicyAction = (typeof POLICY_ACTIONS)[number];

/** One permission: an action on the resources a glob matches (`*` = any run of characters). */
export interface Permission {
  action: PolicyAction;
  resource: string;
}

/** A key's policy as stored: its permissions in string form. Absent = admin. */
export type Policy = readonly string[];

/** Most permissions one key may hold. */
export const MAX_POLICY_PERMISSIONS = 32;
/** Longest permission string (the longest action and a resource glob of 128 characters fit). */
export const MAX_PERMISSION_LENGTH = 160;
/** Resource globs: the characters store and function names may have, plus `*`. */
const RESOURCE_GLOB = /^[A-Za-z0-9_.*-]{1,128}$/;

/** The resource of routes that act on no single store or function (lists, audit without a store, metrics). */
export const ALL_RESOURCES = '*';

/** Which held actions grant a wanted one (besides the action itself and `admin`). */
const GRANTED_BY: Record<PolicyAction, readonly PolicyAction[]> = {
  'kvs:read': ['kvs:write', 'kvs:manage'],
  'kvs:write': ['kvs:manage'],
  'kvs:manage': [],
  'function:read': ['function:update', 'function:publish'],
  'function:update': [],
  'function:publish': [],
  'audit:read': [],
  admin: [],
};

function isAction(text: string): text is PolicyAction {
  return (POLICY_ACTIONS as readonly string[]).includes(text);
}

function invalid(message: string, details: Record<string, unknown> = {}): OpenFrontError {
  return new OpenFrontError('POLICY_INVALID', message, details);
}

/**
 * Parses one permission: `admin`, `<action>` (= on every resource) or `<action>:<resource glob>`. Throws
 * POLICY_INVALID naming the problem (an unknown action lists the known ones).
 */
export function parsePermission(text: string): Permission {
  if (typeof text !== 'string') throw invalid('A permission must be a string like "kvs:write:redirects-*"');
  if (text.length > MAX_PERMISSION_LENGTH) {
    throw invalid(`The permission ${JSON.stringify(text.slice(0, 40))}… is ${text.length} characters; the limit is ${MAX_PERMISSION_LENGTH}`);
  }
  if (text === 'admin') return { action: 'admin', resource: ALL_RESOURCES };
  const parts = text.split(':');
  const action = parts.slice(0, 2).join(':');
  if (parts.length < 2 || parts.length > 3 || !isAction(action) || action === 'admin') {
    throw invalid(
      `Unknown permission ${JSON.stringify(text)}: the form is <action>:<resource glob> with an action among ${POLICY_ACTIONS.filter((a) => a !== 'admin').join(', ')}, or admin`,
      { permission: text },
    );
  }
  const resource = parts[2] ?? ALL_RESOURCES;
  if (!RESOURCE_GLOB.test(resource)) {
    throw invalid(
      `The resource ${JSON.stringify(resource)} of ${JSON.stringify(text)} is not a store or function name glob (letters, digits, "_", ".", "-" and "*", at most 128)`,
      { permission: text },
    );
  }
  return { action, resource };
}

/**
 * Checks a whole policy (count, each permission) and returns it in its canonical string form, duplicates dropped.
 * An empty list is refused: a key that may do nothing is a mistake (omit the policy for an admin key).
 */
export function parsePolicy(permissions: readonly unknown[]): string[] {
  if (!Array.isArray(permissions)) throw invalid('A policy must be a list of permissions like ["kvs:write:redirects-*"]');
  if (permissions.length === 0) throw invalid('A policy must hold at least one permission; a key without a policy is an admin key');
  if (permissions.length > MAX_POLICY_PERMISSIONS) {
    throw invalid(`A policy holds at most ${MAX_POLICY_PERMISSIONS} permissions, got ${permissions.length}`);
  }
  const canonical = permissions.map((p) => {
    const { action, resource } = parsePermission(p as string);
    return action === 'admin' ? 'admin' : `${action}:${resource}`;
  });
  return [...new Set(canonical)];
}

/** Whether a resource glob (`*` = any run of characters) matches a name. */
export function globMatches(glob: string, name: string): boolean {
  if (glob === ALL_RESOURCES) return true;
  if (!glob.includes('*')) return glob === name;
  const parts = glob.split('*');
  const first = parts[0];
  const last = parts[parts.length - 1];
  if (name.length < first.length + last.length || !name.startsWith(first) || !name.endsWith(last)) return false;
  let at = first.length;
  const end = name.length - last.length;
  for (const middle of parts.slice(1, -1)) {
    const found = name.indexOf(middle, at);
    if (found === -1 || found + middle.length > end) return false;
    at = found + middle.length;
  }
  return true;
}

/**
 * The decision: may a key with `policy` do `action` on `resource`? `resource` is a concrete store or function
 * name, or {@link ALL_RESOURCES} for a route over all of them (which then needs a permission on `*`).
 */
export function isAllowed(policy: Policy | undefined, action: PolicyAction, resource: string): boolean {
  if (policy === undefined) return true;
  for (const text of policy) {
    const held = parsePermission(text);
    if (held.action === 'admin') return true;
    if (held.action !== action && !GRANTED_BY[action].includes(held.action)) continue;
    if (resource === ALL_RESOURCES ? held.resource === ALL_RESOURCES : globMatches(held.resource, resource)) return true;
  }
  return false;
}

/** `kvs:write:flags`: how a denied request is named in errors and audit records. */
export function permissionText(action: PolicyAction, resource: string): string {
  return action === 'admin' ? 'admin' : `${action}:${resource}`;
}
