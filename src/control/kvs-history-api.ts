/**
 * Store history on the native API (docs/safe-changes.md, "History and rollback"; docs/kvs-api.md):
 *
 * - `GET /openfront/v1/key-value-stores/{name}/history?key=&from=&to=&limit=&marker=` — one row per key a write
 *   changed (who, when, before → after, the version), newest first, at most `limit` (≤ 1000) per page.
 * - `GET /openfront/v1/key-value-stores/{name}/keys?version=&maxResults=&nextToken=` — the keys now, or as of a
 *   version the history still reaches.
 * - `GET /openfront/v1/key-value-stores/{name}/diff?from=N&to=M` — keys added, removed and changed from N to M.
 * - `POST /openfront/v1/key-value-stores/{name}/rollback` `{"toVersion": N}` with `If-Match` (the data ETag) — ONE
 *   new write, audited as `Rollback`, that makes the store equal to version N.
 */
import { OpenFrontError } from '../errors.js';
import { assertVersionNumber, diffItems, type HistoryQuery, type HistoryRow } from '../kvs/history.js';
import { decodeNextToken, encodeNextToken } from '../kvs/store-rules.js';
import type { StoreRecord } from '../kvs/types.js';
import type { NodeState } from '../state/types.js';
import { NATIVE_SIGNING_SERVICE } from './auth/sign-request.js';
import { access } from './auth/route-access.js';
import { SIGV4_ALGORITHM } from './auth/sigv4.js';
import { parseJsonObject } from './http/json-body.js';
import type { RouteGroup } from './http/router.js';
import type { ApiRequest } from './http/types.js';
import { badRequest, json, NATIVE_API_PREFIX } from './native-api.js';

const STORES = `${NATIVE_API_PREFIX}/key-value-stores`;
const DEFAULT_KEYS_PAGE = 100;
const MAX_KEYS_PAGE = 1000;
/** Versions are integers below 2^53; longer text is refused before it is parsed. */
const VERSION_TEXT = /^\d{1,15}$/;

/** An integer query parameter, or undefined when absent; anything else (negative, fractional, huge) is BAD_REQUEST. */
function intParam(req: ApiRequest, name: string): number | undefined {
  const text = req.queryParam(name);
  if (text === undefined) return undefined;
  if (!VERSION_TEXT.test(text)) throw badRequest(`${name} must be a non-negative integer, got ${JSON.stringify(text.slice(0, 40))}`);
  return Number(text);
}

function requiredIntParam(req: ApiRequest, name: string): number {
  const value = intParam(req, name);
  if (value === undefined) throw badRequest(`${name} is required`);
  return value;
}

async function requireStore(state: NodeState, name: string): Promise<StoreRecord> {
  const store = await state.stores.getStore({ name });
  if (!store) throw new OpenFrontError('KVS_NOT_FOUND', `The key value store ${name} was not found`);
  return store;
}

export interface HistoryRowJson extends Omit<HistoryRow, 'at'> {
  at: string;
}

export const kvsHistoryRoutes: RouteGroup = (router, { state }) => {
  const signing = { services: [NATIVE_SIGNING_SERVICE], algorithms: [SIGV4_ALGORITHM] } as const;
  router
    .group({ protocol: 'native-json', prefix: STORES, signing, maxBodyBytes: 4096 })
    .get(
      `${STORES}/{Name}/history`,
      async (req, { Name }) => {
        const query: HistoryQuery = {};
        const key = req.queryParam('key');
        if (key !== undefined) query.key = key;
        const from = intParam(req, 'from');
        if (from !== undefined) query.from = from;
        const to = intParam(req, 'to');
        if (to !== undefined) query.to = to;
        const limit = intParam(req, 'limit');
        if (limit !== undefined) query.limit = limit;
        const marker = req.queryParam('marker');
        if (marker !== undefined) query.marker = marker;
        const store = await requireStore(state, Name);
        const page = await state.stores.history(store.id, query);
        const items: HistoryRowJson[] = page.items.map((row) => ({ ...row, at: row.at.toISOString() }));
        return json(200, { store: store.name, version: store.version, items, ...(page.nextMarker === undefined ? {} : { nextMarker: page.nextMarker }) });
      },
      { access: access.store('kvs:read') },
    )
    .get(
      `${STORES}/{Name}/keys`,
      async (req, { Name }) => {
        const version = intParam(req, 'version');
        const maxResults = intParam(req, 'maxResults') ?? DEFAULT_KEYS_PAGE;
        if (maxResults < 1 || maxResults > MAX_KEYS_PAGE) throw badRequest(`maxResults must be an integer from 1 to ${MAX_KEYS_PAGE}`);
        const token = req.queryParam('nextToken');
        const after = token === undefined ? undefined : decodeNextToken(token);
        const store = await requireStore(state, Name);
        if (version === undefined) {
          const page = await state.stores.listKeys(store.id, { maxResults: Math.min(maxResults, state.stores.limits.maxListResults), nextToken: token });
          return json(200, { store: store.name, version: store.version, items: page.items, ...(page.nextToken ? { nextToken: page.nextToken } : {}) });
        }
        const at = await state.stores.itemsAt(store.id, version);
        const start = after === undefined ? 0 : at.items.findIndex((item) => Buffer.compare(Buffer.from(item.key), Buffer.from(after)) > 0);
        const rest = start < 0 ? [] : at.items.slice(start);
        const items = rest.slice(0, maxResults);
        const more = rest.length > maxResults;
        return json(200, { store: store.name, version, items, ...(more ? { nextToken: encodeNextToken(items[items.length - 1]!.key) } : {}) });
      },
      { access: access.store('kvs:read') },
    )
    .get(
      `${STORES}/{Name}/diff`,
      async (req, { Name }) => {
        const from = requiredIntParam(req, 'from');
        const to = requiredIntParam(req, 'to');
        if (from > to) throw badRequest(`from (${from}) must not be greater than to (${to})`);
        const store = await requireStore(state, Name);
        const [a, b] = [await state.stores.itemsAt(store.id, from), await state.stores.itemsAt(store.id, to)];
        return json(200, { store: store.name, ...diffItems(from, a.items, to, b.items) });
      },
      { access: access.store('kvs:read') },
    )
    .post(
      `${STORES}/{Name}/rollback`,
      async (req, { Name }, principal) => {
        const body = parseJsonObject(req.body, 'BAD_REQUEST');
        const toVersion = body.toVersion;
        if (typeof toVersion !== 'number') throw badRequest('The body must be {"toVersion": <version>}');
        assertVersionNumber(toVersion, 'toVersion');
        const store = await requireStore(state, Name);
        const result = await state.stores.rollback(store.id, toVersion, req.header('if-match'), principal);
        return {
          ...json(
            200,
            {
              store: store.name,
              toVersion,
              etag: result.etag,
              version: result.version,
              itemCount: result.itemCount,
              totalSizeInBytes: result.totalSizeInBytes,
            },
            { etag: result.etag },
          ),
          written: { resource: { kind: 'store', id: store.id }, version: result.version },
        };
      },
      { access: access.store('kvs:write') },
    );
};
