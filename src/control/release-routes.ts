/**
 * The releases API (docs/safe-changes.md#releases), signed with SigV4 (signing name "openfront"):
 *
 * - `POST /openfront/v1/releases` — validate and store a release (201); body: `{description?, function?|functions?,
 *   changes?, ifMatch?}` (src/control/releases.ts).
 * - `GET  /openfront/v1/releases[?limit=]` — releases, newest first, without their code and change sets.
 * - `GET  /openfront/v1/releases/{id}` — one release, whole.
 * - `POST /openfront/v1/releases/{id}/apply[?wait=all]` — apply it as one change; refused (412, nothing written,
 *   the release `failed`) when something it was prepared against moved.
 * - `POST /openfront/v1/releases/{id}/rollback[?wait=all]` — restore the previous LIVE versions and the values it changed.
 */
import { OpenFrontError } from '../errors.js';
import { isReleaseId, releaseToJson, type ReleaseOutcome, type ReleaseRecord } from '../state/releases.js';
import type { NodeState } from '../state/types.js';
import { NATIVE_SIGNING_SERVICE } from './auth/sign-request.js';
import { SIGV4_ALGORITHM } from './auth/sigv4.js';
import { parseJsonObject } from './http/json-body.js';
import type { RouteGroup } from './http/router.js';
import type { ApiResponse } from './http/types.js';
import { json, NATIVE_API_PREFIX } from './native-api.js';
import { prepareRelease, releasesOf } from './releases.js';
import { access, type RouteAccess } from './auth/route-access.js';
import type { PolicyAction } from './auth/policy.js';

export const RELEASES_PATH = `${NATIVE_API_PREFIX}/releases`;

/** A change set may be 5 MB of items; JSON escaping may double that, and up to 10 functions of 10 KB ride along. */
const MAX_RELEASE_BODY = 12 * 1024 * 1024;
const MAX_LIST = 1000;

/** A release in a listing: what it touches, not its code or items. */
function summaryJson(release: ReleaseRecord): Record<string, unknown> {
  const { functions, changes, undo: _undo, expected: _expected, ...rest } = releaseToJson(release);
  return {
    ...rest,
    functions: functions.map((fn) => ({ name: fn.name, ...(fn.version !== undefined ? { version: fn.version } : { code: `${fn.code!.length} characters` }) })),
    stores: Object.fromEntries(Object.entries(changes.stores).map(([name, change]) => [name, { puts: change.puts.length, deletes: change.deletes.length }])),
  };
}

function requireId(id: string): string {
  if (!isReleaseId(id))
    throw new OpenFrontError('RELEASE_NOT_FOUND', `Release ${JSON.stringify(id.slice(0, 40))} does not exist (ids look like rel-0a1b2c3d4e5f)`);
  return id;
}

/** What `?wait=all` waits for: the first function's LIVE version, else the first store's data version. */
async function writtenOf(state: NodeState, outcome: ReleaseOutcome): Promise<ApiResponse['written']> {
  const fn = outcome.functions[0];
  if (fn !== undefined) return { resource: { kind: 'function', name: fn.name }, version: fn.version };
  for (const [name, result] of Object.entries(outcome.stores)) {
    const store = await state.stores.getStore({ name });
    if (store !== undefined) return { resource: { kind: 'store', id: store.id }, version: result.version };
  }
  return undefined;
}

type Touched = Array<{ action: PolicyAction; resource: string }>;

/** What a release needs from a key's policy: `function:publish` on each of its functions, `kvs:write` on each store. */
function touched(release: { functions?: readonly unknown[]; changes?: unknown }): Touched {
  const names = (release.functions ?? []).map((fn) => (typeof fn === 'object' && fn !== null ? (fn as { name?: unknown }).name : undefined));
  const stores = (release.changes as { stores?: unknown } | undefined)?.stores;
  // Anything that names no resource clearly needs the permission on every resource.
  return [
    ...names.map((name) => ({ action: 'function:publish' as const, resource: typeof name === 'string' ? name : '*' })),
    ...(typeof stores === 'object' && stores !== null ? Object.keys(stores).map((name) => ({ action: 'kvs:write' as const, resource: name })) : []),
  ];
}

/** Creating a release: what its body names (docs/safe-changes.md, "Permissions and ownership"). */
const createAccess: RouteAccess = {
  action: 'function:publish',
  requirements: async (req) => {
    let body: Record<string, unknown>;
    try {
      body = parseJsonObject(req.body, 'BAD_REQUEST');
    } catch {
      return [];
    }
    const functions = Array.isArray(body.functions) ? body.functions : body.function === undefined ? [] : [body.function];
    return touched({ functions, changes: body.changes });
  },
};

/** Applying or rolling back a stored release: what it holds. An unknown id needs the permission on everything. */
const stored: RouteAccess = {
  action: 'function:publish',
  requirements: async (_req, { Id }, state) => {
    const release = isReleaseId(Id) ? await releasesOf(state).get(Id) : undefined;
    return release === undefined ? [] : touched(release);
  },
};

export const releaseRouteGroup: RouteGroup = (router, { state }) => {
  const signing = { services: [NATIVE_SIGNING_SERVICE], algorithms: [SIGV4_ALGORITHM] } as const;
  router
    .group({ protocol: 'native-json', prefix: RELEASES_PATH, signing, maxBodyBytes: MAX_RELEASE_BODY })
    .post(
      RELEASES_PATH,
      async (req, _params, principal) => {
        const releases = releasesOf(state);
        const body = parseJsonObject(req.body, 'BAD_REQUEST');
        const release = await releases.create(await prepareRelease(state, body), principal);
        return json(201, releaseToJson(release));
      },
      { access: createAccess },
    )
    .get(
      RELEASES_PATH,
      async (req) => {
        const releases = releasesOf(state);
        const limitText = req.queryParam('limit');
        if (limitText !== undefined && (!/^\d{1,4}$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > MAX_LIST)) {
          throw new OpenFrontError('BAD_REQUEST', `limit must be an integer from 1 to ${MAX_LIST}`);
        }
        const items = await releases.list(limitText === undefined ? {} : { limit: Number(limitText) });
        return json(200, { items: items.map(summaryJson) });
      },
      { access: access.all('function:read') },
    )
    .get(
      `${RELEASES_PATH}/{Id}`,
      async (_req, { Id }) => {
        const release = await releasesOf(state).get(requireId(Id));
        if (release === undefined) throw new OpenFrontError('RELEASE_NOT_FOUND', `Release ${Id} does not exist`);
        return json(200, releaseToJson(release));
      },
      { access: access.all('function:read') },
    )
    .post(
      `${RELEASES_PATH}/{Id}/apply`,
      async (_req, { Id }, principal) => {
        const release = await releasesOf(state).apply(requireId(Id), principal);
        return { ...json(200, releaseToJson(release)), written: await writtenOf(state, release.applied!) };
      },
      { access: stored },
    )
    .post(
      `${RELEASES_PATH}/{Id}/rollback`,
      async (_req, { Id }, principal) => {
        const release = await releasesOf(state).rollback(requireId(Id), principal);
        return { ...json(200, releaseToJson(release)), written: await writtenOf(state, release.rolledBack!) };
      },
      { access: stored },
    );
};
