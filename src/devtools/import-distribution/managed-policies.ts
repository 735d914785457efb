/**
 * The AWS managed cache and origin request policies, known by the ids distributions name them by. Every account has
 * them and `aws cloudfront get-cache-policy` is rarely exported for them, so the importer carries their settings.
 * Settings as AWS publishes them (Developer Guide: "Use managed cache policies", "Use managed origin request
 * policies"). Header names are lowercase, as the OpenFront config wants them.
 */

export interface ImportedCachePolicy {
  name: string;
  minTtl: number;
  defaultTtl: number;
  maxTtl: number;
  headers: { behavior: 'none' | 'whitelist' | 'allExcept' | 'all'; names: string[] };
  cookies: { behavior: 'none' | 'whitelist' | 'allExcept' | 'all'; names: string[] };
  queryStrings: { behavior: 'none' | 'whitelist' | 'allExcept' | 'all'; names: string[] };
  /** The normalised Accept-Encoding in the key (the console's "cache compressed objects"), gzip and brotli. */
  enableAcceptEncodingGzip?: boolean;
  enableAcceptEncodingBrotli?: boolean;
}

/** "Cache compressed objects: enabled" in AWS's description of a managed policy. */
const COMPRESSED = { enableAcceptEncodingGzip: true, enableAcceptEncodingBrotli: true };

const NONE = { behavior: 'none' as const, names: [] };
const ALL = { behavior: 'all' as const, names: [] };
const ORIGIN_METHOD_HEADERS = { behavior: 'whitelist' as const, names: ['host', 'origin', 'x-http-method', 'x-http-method-override', 'x-method-override'] };

/**
 * Managed cache policies by id. `CachingOptimized` and `CachingDisabled` carry the names of OpenFront's built-in
 * policies (same settings), so the config refers to those rather than redefining them.
 */
export const MANAGED_CACHE_POLICIES: ReadonlyMap<string, ImportedCachePolicy & { builtIn?: true }> = new Map([
  [
    '658327ea-f89d-4fab-a63d-7e88639e58f6',
    { name: 'CachingOptimized', builtIn: true, minTtl: 1, defaultTtl: 86_400, maxTtl: 31_536_000, headers: NONE, cookies: NONE, queryStrings: NONE },
  ],
  [
    '4135ea2d-6df8-44a3-9df3-4b5a84be39ad',
    { name: 'CachingDisabled', builtIn: true, minTtl: 0, defaultTtl: 0, maxTtl: 0, headers: NONE, cookies: NONE, queryStrings: NONE },
  ],
  [
    'b2884449-e4de-46a7-ac36-70bc7f1ddd6d',
    { name: 'CachingOptimizedForUncompressedObjects', minTtl: 1, defaultTtl: 86_400, maxTtl: 31_536_000, headers: NONE, cookies: NONE, queryStrings: NONE },
  ],
  [
    '2e54312d-136d-493c-8eb9-b001f22f67d2',
    {
      name: 'Amplify',
      minTtl: 2,
      defaultTtl: 2,
      maxTtl: 600,
      headers: { behavior: 'whitelist', names: ['authorization', 'cloudfront-viewer-country', 'host'] },
      cookies: ALL,
      queryStrings: ALL,
      ...COMPRESSED,
    },
  ],
  [
    '08627262-05a9-4f76-9ded-b50ca2e3a84f',
    {
      name: 'Elemental-MediaPackage',
      minTtl: 0,
      defaultTtl: 86_400,
      maxTtl: 31_536_000,
      headers: { behavior: 'whitelist', names: ['origin'] },
      cookies: NONE,
      queryStrings: { behavior: 'whitelist', names: ['aws.manifestfilter', 'end', 'm', 'start'] },
      enableAcceptEncodingGzip: true,
    },
  ],
  [
    '83da9c7e-98b4-4e11-a168-04f0df8e2c65',
    {
      name: 'UseOriginCacheControlHeaders',
      minTtl: 0,
      defaultTtl: 0,
      maxTtl: 31_536_000,
      headers: ORIGIN_METHOD_HEADERS,
      cookies: ALL,
      queryStrings: NONE,
      ...COMPRESSED,
    },
  ],
  [
    '4cc15a8a-d715-48a4-82b8-cc0b614638fe',
    {
      name: 'UseOriginCacheControlHeaders-QueryStrings',
      minTtl: 0,
      defaultTtl: 0,
      maxTtl: 31_536_000,
      headers: ORIGIN_METHOD_HEADERS,
      cookies: ALL,
      queryStrings: ALL,
      ...COMPRESSED,
    },
  ],
]);

/** What a managed origin request policy sends to the origin, in words for the import report. */
export const MANAGED_ORIGIN_REQUEST_POLICIES: ReadonlyMap<string, { name: string; forwards: string; hostHeader: 'viewer' | 'origin' }> = new Map([
  [
    '216adef6-5c7f-47e4-b989-5492eafa07d3',
    { name: 'AllViewer', forwards: 'every viewer header (Host included), cookie and query string', hostHeader: 'viewer' },
  ],
  [
    '33f36d7e-f396-46d9-90e0-52428a34d9dc',
    {
      name: 'AllViewerAndCloudFrontHeaders-2022-06',
      forwards: 'every viewer header (Host included), cookie and query string, plus the CloudFront-* headers',
      hostHeader: 'viewer',
    },
  ],
  [
    'b689b0a8-53d0-40ab-baf2-68738e2966ac',
    { name: 'AllViewerExceptHostHeader', forwards: 'every viewer header except Host, every cookie and query string', hostHeader: 'origin' },
  ],
  ['59781a5b-3903-41f3-afcb-af62929ccde1', { name: 'CORS-CustomOrigin', forwards: 'only the Origin header', hostHeader: 'origin' }],
  ['88a5eaf4-2fd4-4709-b370-b4c650ea3fcf', { name: 'CORS-S3Origin', forwards: 'only the Origin and Access-Control-Request-* headers', hostHeader: 'origin' }],
  [
    '775133bc-15f2-49f9-abea-afb2e0bf67d2',
    {
      name: 'Elemental-MediaTailor-PersonalizedManifests',
      forwards: 'Origin, the CloudFront-Viewer-* device headers and User-Agent, every query string',
      hostHeader: 'origin',
    },
  ],
  ['bf0718e1-ba1e-49d1-88b1-f726733018ae', { name: 'HostHeaderOnly', forwards: 'only the viewer Host header', hostHeader: 'viewer' }],
  ['acba4595-bd28-49b6-b9c3-2cd3cb0c7e47', { name: 'UserAgentRefererHeaders', forwards: 'only the User-Agent and Referer headers', hostHeader: 'origin' }],
]);
