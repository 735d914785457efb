/**
 * Value schemas through the native API (docs/safe-changes.md, "Value schemas"), signed like the rest of it:
 *
 * - `GET /openfront/v1/key-value-stores/{name}/schema` — the document, its ETag, when and by whom it was set.
 * - `PUT …/schema[?force=true]` — the body is the document; optional If-Match (the current schema's ETag, "none"
 *   when there is none). Refused with the offending keys when stored values fail it, unless `force=true`.
 * - `DELETE …/schema` — removes it (optional If-Match).
 *
 * Every change is audited (`PutValueSchema`, `DeleteValueSchema`).
 */
import { OpenFrontError } from '../errors.js';
import type { StoreRecord } from '../kvs/types.js';
import { parseValueSchema, VALUE_SCHEMA_LIMITS, type StoredValueSchema } from '../kvs/value-schema.js';
import type { StoreState } from '../state/types.js';
import { NATIVE_SIGNING_SERVICE } from './auth/sign-request.js';
import { SIGV4_ALGORITHM } from './auth/sigv4.js';
import { access } from './auth/route-access.js';
import { decodeUtf8 } from './http/body.js';
import type { RouteGroup } from './http/router.js';
import type { ApiRequest } from './http/types.js';
import { badRequest, json, NATIVE_API_PREFIX } from './native-api.js';

/** The wire form of a store's schema. */
export interface ValueSchemaJson {
  store: string;
  etag: string;
  updated?: string;
  updatedBy?: string;
  schema?: unknown;
}

function schemaJson(store: StoreRecord, stored: StoredValueSchema | undefined): ValueSchemaJson {
  if (stored === undefined) return { store: store.name, etag: 'none' };
  return { store: store.name, etag: stored.etag, updated: stored.updated.toISOString(), updatedBy: stored.updatedBy, schema: stored.document };
}

async function requireStore(stores: StoreState, name: string): Promise<StoreRecord> {
  const store = await stores.getStore({ name });
  if (!store) throw new OpenFrontError('KVS_NOT_FOUND', `The key value store ${name} was not found`);
  return store;
}

function forceParam(req: ApiRequest): boolean {
  const force = req.queryParam('force');
  if (force === undefined || force === 'false') return false;
  if (force === 'true') return true;
  throw badRequest('force must be true or false');
}

function ifMatch(req: ApiRequest): string | undefined {
  const value = req.header('if-match');
  return value === undefined || value === '' ? undefined : value.replace(/^"(.*)"$/, '$1');
}

export const kvsSchemaRoutes: RouteGroup = (router, { state }) => {
  const stores = state.stores;
  const path = `${NATIVE_API_PREFIX}/key-value-stores/{Name}/schema`;
  router
    .group({
      protocol: 'native-json',
      prefix: `${NATIVE_API_PREFIX}/key-value-stores`,
      signing: { services: [NATIVE_SIGNING_SERVICE], algorithms: [SIGV4_ALGORITHM] },
      // A little over the document limit, so a document just too large gets the schema's own error, not a 413.
      maxBodyBytes: 2 * VALUE_SCHEMA_LIMITS.maxDocumentBytes,
    })
    .get(
      path,
      async (_req, { Name }) => {
        const store = await requireStore(stores, Name);
        const stored = await stores.getSchema(store.id);
        if (stored === undefined) throw new OpenFrontError('NOT_FOUND', `KeyValueStore ${Name} has no value schema`, { store: Name });
        return json(200, schemaJson(store, stored), { etag: stored.etag });
      },
      { access: access.store('kvs:read') },
    )
    .put(
      path,
      async (req, { Name }, principal) => {
        const text = decodeUtf8(req.body);
        if (text === undefined) throw badRequest('The request body is not valid UTF-8');
        const schema = parseValueSchema(text);
        const store = await requireStore(stores, Name);
        const stored = await stores.setSchema(store.id, schema, principal, { force: forceParam(req), ifMatch: ifMatch(req) });
        return json(200, schemaJson(store, stored), { etag: stored?.etag ?? 'none' });
      },
      { access: access.store('kvs:manage') },
    )
    .delete(
      path,
      async (req, { Name }, principal) => {
        const store = await requireStore(stores, Name);
        await stores.setSchema(store.id, undefined, principal, { ifMatch: ifMatch(req) });
        return json(200, schemaJson(store, undefined), { etag: 'none' });
      },
      { access: access.store('kvs:manage') },
    );
};
