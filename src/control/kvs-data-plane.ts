/**
 * The CloudFront KeyValueStore data plane (`cloudfront-keyvaluestore`, restJson1, API 2022-07-26), the API that
 * `@aws-sdk/client-cloudfront-keyvaluestore` speaks: the CloudFront KeyValueStore API Reference, docs/kvs-api.md.
 *
 * Stores are addressed by ARN in the path; the Host (which the SDK prefixes with the account id) is not used for
 * routing. Writes need the data-plane ETag in If-Match and answer with the new one in the ETag header.
 */
import { OpenFrontError } from '../errors.js';
import type { KeyValue, StoreRecord } from '../kvs/types.js';
import { SIGV4_ALGORITHM } from './auth/sigv4.js';
import { access } from './auth/route-access.js';
import { SIGV4A_ALGORITHM } from './auth/sigv4a.js';
import { parseJsonObject } from './http/json-body.js';
import type { StoreState } from '../state/types.js';
import type { RouteGroup } from './http/router.js';
import type { ApiRequest, ApiResponse } from './http/types.js';

/** Signing name of the data plane in the credential scope. */
export const KVS_SIGNING_SERVICE = 'cloudfront-keyvaluestore';

function invalid(message: string): OpenFrontError {
  return new OpenFrontError('KVS_VALIDATION', message);
}

function json(body: unknown, etag?: string): ApiResponse {
  return { status: 200, headers: { 'content-type': 'application/json', ...(etag ? { etag } : {}) }, body: JSON.stringify(body) };
}

/** Data-plane timestamps are epoch seconds (a JSON number); an ISO string breaks the SDK's parser. */
function epochSeconds(date: Date): number {
  return date.getTime() / 1000;
}

async function requireStore(stores: StoreState, arn: string): Promise<StoreRecord> {
  const store = await stores.getStore({ arn });
  if (!store) throw new OpenFrontError('KVS_NOT_FOUND', `The key value store ${arn} was not found`);
  return store;
}

function requireIfMatch(req: ApiRequest): string {
  const ifMatch = req.header('if-match');
  if (!ifMatch) throw invalid('The If-Match header is required: send the ETag from DescribeKeyValueStore or the previous write');
  return ifMatch;
}

function requireString(value: unknown, field: string): string {
  if (typeof value !== 'string') throw invalid(`${field} must be a string`);
  return value;
}

function requireList(value: unknown, field: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalid(`${field} must be a list`);
  return value;
}

function requireObject(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(`${field} must be an object`);
  return value as Record<string, unknown>;
}

/** Parses a decimal integer query parameter strictly ("10", not "1e1" or "10abc"). */
function integerParam(req: ApiRequest, name: string): number | undefined {
  const text = req.queryParam(name);
  if (text === undefined) return undefined;
  if (!/^\d{1,9}$/.test(text)) throw invalid(`${name} must be an integer`);
  return Number(text);
}

/** The write's answer; its version goes out as `x-openfront-version` (see propagation-wait.ts). */
function writeResult(result: { etag: string; version: number; itemCount: number; totalSizeInBytes: number }, storeId: string): ApiResponse {
  return {
    ...json({ ItemCount: result.itemCount, TotalSizeInBytes: result.totalSizeInBytes }, result.etag),
    written: { resource: { kind: 'store', id: storeId }, version: result.version },
  };
}

/** Registers the six data-plane operations. */
export const kvsDataPlaneRoutes: RouteGroup = (router, { state }) => {
  const stores = state.stores;
  const limits = stores.limits;
  // JSON escaping can make a body several times its payload; the payload limit itself is checked on decoded items.
  const maxBodyBytes = Math.min(2 * limits.maxUpdatePayloadBytes + 1024 * 1024, 1024 * 1024 * 1024);
  const read = { access: access.storeByArn('kvs:read') };
  const write = { access: access.storeByArn('kvs:write') };
  router
    .group({
      protocol: 'rest-json',
      prefix: '/key-value-stores',
      signing: { services: [KVS_SIGNING_SERVICE], algorithms: [SIGV4A_ALGORITHM, SIGV4_ALGORITHM] },
      maxBodyBytes,
    })
    .get(
      '/key-value-stores/{KvsARN}',
      async (_req, { KvsARN }) => {
        const store = await requireStore(stores, KvsARN);
        return json(
          {
            ItemCount: store.itemCount,
            TotalSizeInBytes: store.totalSizeInBytes,
            KvsARN: store.arn,
            Created: epochSeconds(store.created),
            LastModified: epochSeconds(store.lastModified),
            Status: store.status,
            ...(store.failureReason ? { FailureReason: store.failureReason } : {}),
          },
          store.etag,
        );
      },
      read,
    )
    .get(
      '/key-value-stores/{KvsARN}/keys/{Key}',
      async (_req, { KvsARN, Key }) => {
        const store = await requireStore(stores, KvsARN);
        const item = await stores.getKey(store.id, Key);
        return json({ Key: item.key, Value: item.value, ItemCount: item.itemCount, TotalSizeInBytes: item.totalSizeInBytes });
      },
      read,
    )
    .get(
      '/key-value-stores/{KvsARN}/keys',
      async (req, { KvsARN }) => {
        const store = await requireStore(stores, KvsARN);
        const maxResults = integerParam(req, 'MaxResults');
        if (maxResults !== undefined && (maxResults < 1 || maxResults > limits.maxListResults)) {
          throw invalid(`MaxResults must be between 1 and ${limits.maxListResults}`);
        }
        const page = await stores.listKeys(store.id, { maxResults, nextToken: req.queryParam('NextToken') });
        return json({ Items: page.items.map((i) => ({ Key: i.key, Value: i.value })), ...(page.nextToken ? { NextToken: page.nextToken } : {}) });
      },
      read,
    )
    .put(
      '/key-value-stores/{KvsARN}/keys/{Key}',
      async (req, { KvsARN, Key }, principal) => {
        const ifMatch = requireIfMatch(req);
        const value = requireString(parseJsonObject(req.body, 'KVS_VALIDATION').Value, 'Value');
        const store = await requireStore(stores, KvsARN);
        return writeResult(await stores.putKey(store.id, Key, value, ifMatch, principal), store.id);
      },
      write,
    )
    .delete(
      '/key-value-stores/{KvsARN}/keys/{Key}',
      async (req, { KvsARN, Key }, principal) => {
        const ifMatch = requireIfMatch(req);
        const store = await requireStore(stores, KvsARN);
        return writeResult(await stores.deleteKey(store.id, Key, ifMatch, principal), store.id);
      },
      write,
    )
    .post(
      '/key-value-stores/{KvsARN}/keys',
      async (req, { KvsARN }, principal) => {
        const ifMatch = requireIfMatch(req);
        const body = parseJsonObject(req.body, 'KVS_VALIDATION');
        const puts: KeyValue[] = requireList(body.Puts, 'Puts').map((raw, i) => {
          const item = requireObject(raw, `Puts[${i}]`);
          return { key: requireString(item.Key, `Puts[${i}].Key`), value: requireString(item.Value, `Puts[${i}].Value`) };
        });
        const deletes = requireList(body.Deletes, 'Deletes').map((raw, i) => requireString(requireObject(raw, `Deletes[${i}]`).Key, `Deletes[${i}].Key`));
        const store = await requireStore(stores, KvsARN);
        return writeResult(await stores.updateKeys(store.id, { puts, deletes }, ifMatch, principal), store.id);
      },
      write,
    );
};
