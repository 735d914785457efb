/**
 * Owner and labels of stores and functions through the native API (docs/safe-changes.md, "Permissions and
 * ownership"), signed like every native call:
 *
 * - `PUT /openfront/v1/key-value-stores/{name}/ownership` `{"owner": "team-x", "labels": {"env": "prod"}}` (`kvs:manage`)
 * - `PUT /openfront/v1/functions/{name}/ownership` (same body; `function:update`)
 *
 * - `GET /openfront/v1/ownership/key-value-stores`, `GET /openfront/v1/ownership/functions` — every store's
 *   (function's) owner and labels, `{"items": [{"name", "owner", "labels"}]}` (`kvs:read` / `function:read` on `*`),
 *   for the list commands: the AWS list shapes have no field for them.
 *
 * Fields given replace the stored ones (`labels` as a whole, `{}` removes them all); the answer is the result.
 */
import { NATIVE_SIGNING_SERVICE } from './auth/sign-request.js';
import { SIGV4_ALGORITHM } from './auth/sigv4.js';
import { access } from './auth/route-access.js';
import { parseJsonObject } from './http/json-body.js';
import type { RouteGroup } from './http/router.js';
import { json, NATIVE_API_PREFIX } from './native-api.js';
import { parseOwnershipChange, type Ownership } from '../state/ownership.js';

const STORES_PATH = `${NATIVE_API_PREFIX}/key-value-stores`;
const FUNCTIONS_PATH = `${NATIVE_API_PREFIX}/functions`;
const LISTS_PATH = `${NATIVE_API_PREFIX}/ownership`;
/** An owner and 16 labels fit many times over. */
const MAX_BODY_BYTES = 16 * 1024;

function ownershipJson(name: string, ownership: Ownership): Record<string, unknown> {
  return { name, owner: ownership.owner ?? null, labels: ownership.labels ?? {} };
}

/** Pages of this many are read until the end (stores and functions per account are bounded). */
const LIST_PAGE = 100;

export const ownershipRoutes: RouteGroup = (router, { state }) => {
  const signing = { services: [NATIVE_SIGNING_SERVICE], algorithms: [SIGV4_ALGORITHM] } as const;
  const stores = router.group({ protocol: 'native-json', prefix: STORES_PATH, signing, maxBodyBytes: MAX_BODY_BYTES });
  const functions = router.group({ protocol: 'native-json', prefix: FUNCTIONS_PATH, signing, maxBodyBytes: MAX_BODY_BYTES });
  const lists = router.group({ protocol: 'native-json', prefix: LISTS_PATH, signing, maxBodyBytes: 0 });
  lists.get(
    `${LISTS_PATH}/key-value-stores`,
    async () => {
      const items: Array<Record<string, unknown>> = [];
      let marker: string | undefined;
      do {
        const page = await state.stores.listStores({ marker, maxItems: LIST_PAGE });
        items.push(...page.items.map((store) => ownershipJson(store.name, store)));
        marker = page.nextMarker;
      } while (marker !== undefined);
      return json(200, { items });
    },
    { access: access.all('kvs:read') },
  );
  lists.get(
    `${LISTS_PATH}/functions`,
    async () => {
      const items: Array<Record<string, unknown>> = [];
      let marker: string | undefined;
      do {
        const page = await state.functions.list({ marker, maxItems: LIST_PAGE });
        items.push(...page.items.map((view) => ownershipJson(view.name, view)));
        marker = page.nextMarker;
      } while (marker !== undefined);
      return json(200, { items });
    },
    { access: access.all('function:read') },
  );
  stores.put(
    `${STORES_PATH}/{Name}/ownership`,
    async (req, { Name }, principal) => {
      const change = parseOwnershipChange(parseJsonObject(req.body, 'BAD_REQUEST'));
      return json(200, ownershipJson(Name, await state.stores.setOwnership(Name, change, principal)));
    },
    { access: access.store('kvs:manage') },
  );
  functions.put(
    `${FUNCTIONS_PATH}/{Name}/ownership`,
    async (req, { Name }, principal) => {
      const change = parseOwnershipChange(parseJsonObject(req.body, 'BAD_REQUEST'));
      return json(200, ownershipJson(Name, await state.functions.setOwnership(Name, change, principal)));
    },
    { access: access.function('function:update') },
  );
};
