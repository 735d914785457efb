/**
 * OpenFront's native JSON API for what the AWS APIs lack, signed with SigV4 (signing name "openfront") by the same
 * access keys:
 *
 * - `GET /openfront/v1/audit?store=&key=&accessKeyId=&since=&until=&limit=` — audit records, newest first.
 * - `POST /openfront/v1/key-value-stores/{name}/import?mode=merge|replace` — bulk import of a body in the S3 import
 *   format (`{"data":[{"key":…,"value":…}]}`), not limited to UpdateKeys' 50 keys; optional If-Match (data ETag).
 */
import { OpenFrontError } from '../errors.js';
import type { NodeState } from '../state/types.js';
import type { KeyValue } from '../kvs/types.js';
import type { AuditQuery, AuditRecord } from '../observe/audit.js';
import { NATIVE_SIGNING_SERVICE } from './auth/sign-request.js';
import { SIGV4_ALGORITHM } from './auth/sigv4.js';
import { access } from './auth/route-access.js';
import { parseJsonObject } from './http/json-body.js';
import type { RouteGroup } from './http/router.js';
import type { ApiRequest, ApiResponse } from './http/types.js';

export const NATIVE_API_PREFIX = '/openfront/v1';

/** Most audit records one request returns. */
const MAX_AUDIT_LIMIT = 1000;

export function json(status: number, body: unknown, headers: Record<string, string> = {}): ApiResponse {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) };
}

export function badRequest(message: string): OpenFrontError {
  return new OpenFrontError('BAD_REQUEST', message);
}

function dateParam(req: ApiRequest, name: string): Date | undefined {
  const text = req.queryParam(name);
  if (text === undefined) return undefined;
  const date = /^\d+$/.test(text) ? new Date(Number(text) * 1000) : new Date(text);
  if (Number.isNaN(date.getTime())) throw badRequest(`${name} must be an ISO-8601 time or epoch seconds`);
  return date;
}

/** `store` may name a store (by name or id) or a deleted one, whose records stay findable by name. */
async function auditQuery(req: ApiRequest, state: NodeState): Promise<AuditQuery> {
  const query: AuditQuery = {};
  const store = req.queryParam('store');
  if (store !== undefined) {
    const found = (await state.stores.getStore({ name: store })) ?? (await state.stores.getStore({ id: store }));
    if (found) query.storeId = found.id;
    else query.storeName = store;
  }
  const key = req.queryParam('key');
  if (key !== undefined) query.key = key;
  const accessKeyId = req.queryParam('accessKeyId');
  if (accessKeyId !== undefined) query.accessKeyId = accessKeyId;
  const since = dateParam(req, 'since');
  if (since) query.since = since;
  const until = dateParam(req, 'until');
  if (until) query.until = until;
  const limit = req.queryParam('limit');
  if (limit !== undefined) {
    if (!/^\d{1,9}$/.test(limit) || Number(limit) < 1 || Number(limit) > MAX_AUDIT_LIMIT) {
      throw badRequest(`limit must be an integer from 1 to ${MAX_AUDIT_LIMIT}`);
    }
    query.limit = Number(limit);
  }
  return query;
}

/** The wire form of an audit record: times as ISO-8601. */
export interface AuditRecordJson extends Omit<AuditRecord, 'at'> {
  at: string;
}

function auditJson(record: AuditRecord): AuditRecordJson {
  return { ...record, at: record.at.toISOString() };
}

/** Registers the native audit and bulk-import routes. */
export const nativeApiRoutes: RouteGroup = (router, { state }) => {
  const signing = { services: [NATIVE_SIGNING_SERVICE], algorithms: [SIGV4_ALGORITHM] } as const;
  router
    .group({ protocol: 'native-json', prefix: `${NATIVE_API_PREFIX}/audit`, signing })
    .get(`${NATIVE_API_PREFIX}/audit`, async (req) => json(200, { items: (await state.audit.list(await auditQuery(req, state))).map(auditJson) }), {
      // Filtered by store, the store's records only: a permission on that store's name is enough.
      access: access.named('audit:read', (req) => req.queryParam('store')),
    });

  // The body is the import file itself, so the cap follows the import-file limit (JSON may re-escape some bytes).
  const maxImportBody = Math.min(2 * state.stores.limits.maxImportFileBytes + 1024 * 1024, 1024 * 1024 * 1024);
  router.group({ protocol: 'native-json', prefix: `${NATIVE_API_PREFIX}/key-value-stores`, signing, maxBodyBytes: maxImportBody }).post(
    `${NATIVE_API_PREFIX}/key-value-stores/{Name}/import`,
    async (req, { Name }, principal) => {
      const mode = req.queryParam('mode') ?? 'merge';
      if (mode !== 'merge' && mode !== 'replace') throw badRequest('mode must be merge or replace');
      const body = parseJsonObject(req.body, 'BAD_REQUEST');
      if (!Array.isArray(body.data)) throw badRequest('The body must be {"data": [{"key": …, "value": …}, …]}');
      const store = await state.stores.getStore({ name: Name });
      if (!store) throw new OpenFrontError('KVS_NOT_FOUND', `The key value store ${Name} was not found`);
      // Items are validated one by one (shape, key, value, duplicates) by the database before anything is written.
      const result = await state.stores.importData(store.id, body.data as KeyValue[], { mode, ifMatch: req.header('if-match') }, principal);
      return {
        ...json(
          200,
          { etag: result.etag, version: result.version, itemCount: result.itemCount, totalSizeInBytes: result.totalSizeInBytes },
          { etag: result.etag },
        ),
        written: { resource: { kind: 'store', id: store.id }, version: result.version },
      };
    },
    { access: access.store('kvs:write') },
  );
};
