/**
 * KeyValueStore resources on the CloudFront API (`cloudfront`, restXml, API 2020-05-31), the operations of
 * `@aws-sdk/client-cloudfront` that manage stores: the CloudFront API Reference (KeyValueStore operations), docs/kvs-api.md.
 *
 * The control-plane ETag versions the store's metadata (its comment), independent of the data-plane ETag.
 * ImportSource takes the S3 JSON format from a file in the operator's import directory, off unless one is configured
 * (`import-source.ts`): OpenFront has no S3.
 */
import { isOpenFrontError, OpenFrontError, type ErrorCode } from '../errors.js';
import type { StoreRecord } from '../kvs/types.js';
import { SIGV4_ALGORITHM } from './auth/sigv4.js';
import { access } from './auth/route-access.js';
import type { RouteGroup } from './http/router.js';
import { readImportSource } from './import-source.js';
import type { ApiRequest, ApiResponse, RouteHandler } from './http/types.js';
import { parseXmlRequest, xmlChild, xmlResponse, xmlText } from './http/xml.js';

/** Signing name of the CloudFront API in the credential scope. */
export const CLOUDFRONT_SIGNING_SERVICE = 'cloudfront';

const STORE_PATH = '/2020-05-31/key-value-store';
/** CloudFront's default page size for list operations. */
const DEFAULT_MAX_ITEMS = 100;

/** Store errors raised in data-plane terms, renamed to the codes the CloudFront API models. */
const CONTROL_PLANE_CODES: Partial<Record<ErrorCode, ErrorCode>> = {
  KVS_VALIDATION: 'CF_INVALID_ARGUMENT',
  KVS_QUOTA_EXCEEDED: 'CF_ENTITY_SIZE_LIMIT_EXCEEDED',
  KVS_NOT_FOUND: 'CF_ENTITY_NOT_FOUND',
  KVS_CONFLICT: 'CF_PRECONDITION_FAILED',
};

function inControlPlaneTerms(handler: RouteHandler): RouteHandler {
  return async (req, params, principal) => {
    try {
      return await handler(req, params, principal);
    } catch (err) {
      const renamed = isOpenFrontError(err) ? CONTROL_PLANE_CODES[err.code] : undefined;
      if (isOpenFrontError(err) && renamed) throw new OpenFrontError(renamed, err.message, err.details, { cause: err });
      throw err;
    }
  };
}

function storeXml(store: StoreRecord): Record<string, unknown> {
  return {
    Name: store.name,
    Id: store.id,
    Comment: store.comment,
    ARN: store.arn,
    Status: store.status,
    LastModifiedTime: store.lastModified.toISOString(),
  };
}

function storeResponse(status: number, store: StoreRecord, headers: Record<string, string> = {}): ApiResponse {
  return xmlResponse(status, 'KeyValueStore', storeXml(store), { etag: store.metadataEtag, ...headers });
}

function requireIfMatch(req: ApiRequest): string {
  const ifMatch = req.header('if-match');
  if (!ifMatch) throw new OpenFrontError('CF_INVALID_IF_MATCH', 'The If-Match header is required: send the ETag from DescribeKeyValueStore');
  return ifMatch;
}

function positiveIntegerParam(req: ApiRequest, name: string): number | undefined {
  const text = req.queryParam(name);
  if (text === undefined) return undefined;
  if (!/^\d{1,9}$/.test(text) || Number(text) < 1) throw new OpenFrontError('CF_INVALID_ARGUMENT', `${name} must be a positive integer`);
  return Number(text);
}

/** OpenFront extension of CreateKeyValueStore: the id the store has in AWS (docs/kvs-api.md). */
export const AWS_ID_HEADER = 'x-openfront-aws-id';

/** Registers Create/Describe/List/Update/DeleteKeyValueStore. */
export const kvsControlPlaneRoutes: RouteGroup = (router, { state, importDir }) => {
  const stores = state.stores;
  router
    .group({
      protocol: 'rest-xml',
      prefix: STORE_PATH,
      signing: { services: [CLOUDFRONT_SIGNING_SERVICE], algorithms: [SIGV4_ALGORITHM] },
      maxBodyBytes: 64 * 1024,
    })
    .post(
      STORE_PATH,
      inControlPlaneTerms(async (req, _params, principal) => {
        const input = parseXmlRequest(req.body, 'CreateKeyValueStoreRequest');
        const name = xmlText(input, 'Name');
        if (name === undefined) throw new OpenFrontError('CF_INVALID_ARGUMENT', 'Name is required');
        const importSource = xmlChild(input, 'ImportSource');
        const importItems = importSource
          ? await readImportSource(
              { sourceType: xmlText(importSource, 'SourceType'), sourceArn: xmlText(importSource, 'SourceARN') },
              { importDir, limits: stores.limits },
            )
          : undefined;
        // CreateKeyValueStoreRequest has no field for the id; a store brought from AWS keeps its id through this header.
        const awsId = req.header(AWS_ID_HEADER);
        const store = await stores.createStore(
          { name, comment: xmlText(input, 'Comment'), importItems, ...(awsId === undefined ? {} : { id: awsId }) },
          principal,
        );
        const location = `http://${req.header('host') ?? 'localhost'}${STORE_PATH}/${store.arn}`;
        return storeResponse(201, store, { location });
      }),
      { access: access.named('kvs:manage', (req) => xmlText(parseXmlRequest(req.body, 'CreateKeyValueStoreRequest'), 'Name')) },
    )
    .get(
      STORE_PATH,
      inControlPlaneTerms(async (req) => {
        const maxItems = positiveIntegerParam(req, 'MaxItems') ?? DEFAULT_MAX_ITEMS;
        const page = await stores.listStores({ marker: req.queryParam('Marker'), maxItems, status: req.queryParam('Status') });
        return xmlResponse(200, 'KeyValueStoreList', {
          ...(page.nextMarker ? { NextMarker: page.nextMarker } : {}),
          MaxItems: maxItems,
          Quantity: page.items.length,
          Items: page.items.length > 0 ? { KeyValueStore: page.items.map(storeXml) } : '',
        });
      }),
      { access: access.all('kvs:read') },
    )
    .get(
      `${STORE_PATH}/{Name}`,
      inControlPlaneTerms(async (_req, { Name }) => {
        const store = await stores.getStore({ name: Name });
        if (!store) throw new OpenFrontError('CF_ENTITY_NOT_FOUND', `The key value store ${Name} was not found`);
        return storeResponse(200, store);
      }),
      { access: access.store('kvs:read') },
    )
    .put(
      `${STORE_PATH}/{Name}`,
      inControlPlaneTerms(async (req, { Name }, principal) => {
        const ifMatch = requireIfMatch(req);
        const comment = xmlText(parseXmlRequest(req.body, 'UpdateKeyValueStoreRequest'), 'Comment');
        if (comment === undefined) throw new OpenFrontError('CF_INVALID_ARGUMENT', 'Comment is required');
        return storeResponse(200, await stores.updateStoreComment(Name, comment, ifMatch, principal));
      }),
      { access: access.store('kvs:manage') },
    )
    .delete(
      `${STORE_PATH}/{Name}`,
      inControlPlaneTerms(async (req, { Name }, principal) => {
        await stores.deleteStore(Name, requireIfMatch(req), principal);
        return { status: 204 };
      }),
      { access: access.store('kvs:manage') },
    );
};
