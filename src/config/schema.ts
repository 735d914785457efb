/**
 * The shape of `openfront.config.yaml` (zod). Field names follow CloudFront's DistributionConfig where one exists
 * (origins, origin groups, cache behaviors, cache policies, function associations); timeouts are in milliseconds
 * because a local edge needs finer steps than CloudFront's whole seconds.
 *
 * This module only describes single fields; cross-references (a behavior naming an unknown origin, …) and file
 * checks live in `load.ts`, so that every problem in a file is reported in one pass.
 */
import { z } from 'zod';
import type { RuntimeVersion } from '../runtime/event.js';

/**
 * The runtimes a config may name. Spelled out here because config/ sits below runtime/ and may import only its
 * types; the two checks below make the compiler fail if this list and `RuntimeVersion` ever disagree.
 */
const CONFIG_RUNTIMES = ['cloudfront-js-1.0', 'cloudfront-js-2.0'] as const satisfies readonly RuntimeVersion[];
type MissingRuntime = Exclude<RuntimeVersion, (typeof CONFIG_RUNTIMES)[number]>;
const everyRuntimeListed: [MissingRuntime] extends [never] ? true : never = true;
void everyRuntimeListed;

const name = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_-]+$/, 'use only letters, digits, "-" and "_"');
const lowercaseHeaderName = z
  .string()
  .min(1)
  .regex(/^[a-z0-9!#$%&'*+.^_`|~-]+$/, 'header names must be lowercase HTTP tokens');

/** `none` keeps the item out of the cache key; `whitelist`/`allExcept` take `names`; `all` takes every one. */
const keyItems = (items: z.ZodType<string>) =>
  z
    .strictObject({
      behavior: z.enum(['none', 'whitelist', 'allExcept', 'all']).default('none'),
      names: z.array(items).default([]),
    })
    .default({ behavior: 'none', names: [] });

export const CachePolicySchema = z.strictObject({
  name,
  /** Seconds. Lower bound applied even when the origin says no-cache/max-age=0. */
  minTtl: z.number().int().min(0).default(0),
  /** Seconds. Used when the origin sends neither Cache-Control max-age/s-maxage nor Expires. */
  defaultTtl: z.number().int().min(0).default(86_400),
  /** Seconds. Upper bound on what the origin may ask for. */
  maxTtl: z.number().int().min(0).default(31_536_000),
  headers: keyItems(lowercaseHeaderName),
  cookies: keyItems(z.string().min(1)),
  queryStrings: keyItems(z.string().min(1)),
  /** Normalised Accept-Encoding (gzip) in the cache key and origin request; lets `compress` use gzip. */
  enableAcceptEncodingGzip: z.boolean().default(false),
  /** The same for brotli (`br`). */
  enableAcceptEncodingBrotli: z.boolean().default(false),
});

/**
 * CloudFront's origin settings (docs/config.md, "Origin timeouts"): the CloudFront-named fields take whole seconds in
 * CloudFront's ranges; the `…Ms` fields are the same settings in milliseconds (finer steps for a local edge and its
 * tests), in the same ranges. Give one or the other; unset means CloudFront's default.
 */
export const ORIGIN_SETTING_RANGES = {
  connectionAttempts: { min: 1, max: 3, default: 3 },
  connectionTimeout: { min: 1, max: 10, default: 10 },
  readTimeout: { min: 1, max: 120, default: 30 },
  keepaliveTimeout: { min: 1, max: 120, default: 5 },
} as const;

const seconds = (range: { min: number; max: number }, what: string) =>
  z
    .number()
    .int(`${what} is a whole number of seconds`)
    .min(range.min, `${what} must be between ${range.min} and ${range.max} seconds (CloudFront's range)`)
    .max(range.max, `${what} must be between ${range.min} and ${range.max} seconds (CloudFront's range)`)
    .optional();
const millis = (range: { min: number; max: number }, what: string) =>
  z
    .number()
    .int(`${what} is a whole number of milliseconds`)
    .min(1, `${what} must be between 1 and ${range.max * 1000} ms (CloudFront's range of ${range.min} to ${range.max} seconds)`)
    .max(range.max * 1000, `${what} must be between 1 and ${range.max * 1000} ms (CloudFront's range of ${range.min} to ${range.max} seconds)`)
    .optional();

const timeouts = {
  /** Connection tries per request (CloudFront: ConnectionAttempts); also the tries after a read timeout for GET/HEAD. */
  connectionAttempts: z
    .number()
    .int('connectionAttempts is a whole number')
    .min(1, "connectionAttempts must be 1, 2 or 3 (CloudFront's range)")
    .max(3, "connectionAttempts must be 1, 2 or 3 (CloudFront's range)")
    .optional(),
  /** Time allowed to open the TCP/TLS connection, per attempt (CloudFront: ConnectionTimeout). */
  connectionTimeout: seconds(ORIGIN_SETTING_RANGES.connectionTimeout, 'connectionTimeout'),
  connectTimeoutMs: millis(ORIGIN_SETTING_RANGES.connectionTimeout, 'connectTimeoutMs'),
  /** Time allowed for the first response byte and between bytes of the response (CloudFront: OriginReadTimeout). */
  readTimeout: seconds(ORIGIN_SETTING_RANGES.readTimeout, 'readTimeout'),
  readTimeoutMs: millis(ORIGIN_SETTING_RANGES.readTimeout, 'readTimeoutMs'),
  /** How long an idle origin connection is kept for reuse (CloudFront: OriginKeepaliveTimeout). */
  keepaliveTimeout: seconds(ORIGIN_SETTING_RANGES.keepaliveTimeout, 'keepaliveTimeout'),
  keepaliveTimeoutMs: millis(ORIGIN_SETTING_RANGES.keepaliveTimeout, 'keepaliveTimeoutMs'),
};

export const CustomOriginSchema = z.strictObject({
  id: name,
  /** `http(s)://host[:port][/originPath]` — shorthand for domainName/port/protocol/originPath. */
  url: z.url({ protocol: /^https?$/ }).optional(),
  domainName: z
    .string()
    .min(1)
    .max(253)
    .regex(/^[^:/\s]+$/, 'a host name without scheme, port or path')
    .optional(),
  port: z.number().int().min(1).max(65_535).optional(),
  protocol: z.enum(['http', 'https']).optional(),
  originPath: z
    .string()
    .regex(/^\/.*[^/]$/, 'must start with "/" and must not end with "/"')
    .max(255)
    .optional(),
  ...timeouts,
  maxConnections: z.number().int().min(1).max(10_000).default(128),
  /** Headers added to every request sent to this origin (lowercase names). */
  customHeaders: z.record(lowercaseHeaderName, z.string()).default({}),
});

export const StaticOriginSchema = z.strictObject({
  id: name,
  /** Directory served as the origin (relative to the config file). */
  static: z.string().min(1),
});

export const OriginGroupSchema = z.strictObject({
  id: name,
  primary: name,
  secondary: name,
  /** Origin statuses that send the request to the secondary (connection errors and timeouts always do). */
  failoverStatusCodes: z
    .array(z.union([z.literal(400), z.literal(403), z.literal(404), z.literal(416), z.literal(500), z.literal(502), z.literal(503), z.literal(504)]))
    .min(1)
    .default([500, 502, 503, 504]),
});

export const FunctionAssociationsSchema = z
  .strictObject({
    'viewer-request': name.optional(),
    'viewer-response': name.optional(),
  })
  .default({});

/** CloudFront's ViewerProtocolPolicy: whether plain HTTP is served, redirected to HTTPS or refused (docs/edge.md#https). */
export const VIEWER_PROTOCOL_POLICIES = ['allow-all', 'redirect-to-https', 'https-only'] as const;

/** CloudFront's security policies (ViewerCertificate.MinimumProtocolVersion); src/edge/listen/security-policy.ts maps them. */
export const SECURITY_POLICIES = [
  'SSLv3',
  'TLSv1',
  'TLSv1_2016',
  'TLSv1.1_2016',
  'TLSv1.2_2018',
  'TLSv1.2_2019',
  'TLSv1.2_2021',
  'TLSv1.2_2025',
  'TLSv1.3_2025',
] as const;

/** CloudFront's DistributionConfig.HttpVersion. HTTP/3 is not served (Node has no QUIC): viewers fall back to HTTP/2. */
export const HTTP_VERSIONS = ['http1.1', 'http2', 'http3', 'http2and3'] as const;

/** A PEM certificate (chain) and its private key, as files (relative to the config file). */
const certificateFiles = {
  certificate: z.string().min(1),
  privateKey: z.string().min(1),
};

export const ViewerCertificateSchema = z.strictObject({
  ...certificateFiles,
  /** CloudFront's default for a custom certificate on SNI. */
  minimumProtocolVersion: z.enum(SECURITY_POLICIES).default('TLSv1.2_2021'),
});

const behaviorFields = {
  /** Origin id or origin-group id requests of this behavior go to (CloudFront: TargetOriginId). */
  origin: name,
  viewerProtocolPolicy: z.enum(VIEWER_PROTOCOL_POLICIES).default('allow-all'),
  /** Cache policy name; built-ins `CachingOptimized` and `CachingDisabled` always exist. */
  cachePolicy: name.default('CachingOptimized'),
  functionAssociations: FunctionAssociationsSchema,
  /** CloudFront's automatic compression of qualifying origin responses (gzip / brotli per the cache policy). */
  compress: z.boolean().default(false),
};

export const DefaultBehaviorSchema = z.strictObject(behaviorFields);

export const BehaviorSchema = z.strictObject({
  /** CloudFront path pattern: `*` any characters including `/`, `?` exactly one, case-sensitive. */
  pathPattern: z.string().min(1).max(255),
  ...behaviorFields,
});

/** CloudFront's CustomErrorResponse codes (docs/config.md, "Custom error responses"). */
export const CUSTOM_ERROR_CODES = [400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504] as const;
export const CUSTOM_RESPONSE_CODES = [200, ...CUSTOM_ERROR_CODES] as const;

const oneOf = (codes: readonly number[], what: string) =>
  z.number().refine((n) => codes.includes(n), { message: `${what} must be one of ${codes.join(', ')} (as in CloudFront)` });

export const CustomErrorResponseSchema = z.strictObject({
  /** The origin's (or the edge's 502/504 for an unreachable origin) status this entry applies to. */
  errorCode: oneOf(CUSTOM_ERROR_CODES, 'errorCode'),
  /** Path of the page served instead, fetched through the first behavior whose path pattern matches it. */
  responsePagePath: z
    .string()
    .min(1)
    .max(4096)
    .regex(/^\/[^\s?#]*$/, 'a path starting with "/" without a query string, fragment or spaces')
    .optional(),
  /** The status the viewer gets with the page. */
  responseCode: oneOf(CUSTOM_RESPONSE_CODES, 'responseCode').optional(),
  /** Seconds the origin's error response is cached (CloudFront's ErrorCachingMinTTL; default 10). */
  errorCachingMinTtl: z.number().int().min(0).max(31_536_000).optional(),
});

const headerNames = z.array(z.string().min(1).max(256).toLowerCase()).max(100).default([]);

/** Requests kept for `openfront dry-run` (docs/config.md, "recording"); the bounds are checked here, once. */
export const RecordingSchema = z.strictObject({
  sampleRate: z.number().gt(0).max(1).default(1),
  maxRequests: z.number().int().min(1).max(100_000).default(1000),
  maxRequestBytes: z
    .number()
    .int()
    .min(256)
    .max(1024 * 1024)
    .default(16 * 1024),
  maxTotalBytes: z
    .number()
    .int()
    .min(1024)
    .max(256 * 1024 * 1024)
    .default(4 * 1024 * 1024),
  maxPerSecond: z.number().int().min(1).max(100_000).default(100),
  /** Bodies are never recorded (viewer functions never see one); 0 is the only value, so a config can say so. */
  maxBodyBytes: z.literal(0).optional(),
  redact: z
    .strictObject({ headers: headerNames, keepHeaders: headerNames, keepCookies: z.array(z.string().min(1).max(256)).max(100).default([]) })
    .default({ headers: [], keepHeaders: [], keepCookies: [] }),
  persist: z.boolean().default(false),
});

export const DistributionSchema = z.strictObject({
  id: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9_-]+$/, 'use only letters, digits, "-" and "_"'),
  /** Host names this distribution answers for: exact names, `*.example.com`, or `*` for any host. */
  hostnames: z.array(z.string().min(1).toLowerCase()).min(1),
  /** Value of `event.context.distributionDomainName`; defaults to the first exact host name. */
  domainName: z.string().min(1).optional(),
  /** Each entry is checked against StaticOriginSchema (it has `static`) or CustomOriginSchema by `load.ts`. */
  origins: z.array(z.record(z.string(), z.unknown())).min(1),
  originGroups: z.array(OriginGroupSchema).default([]),
  defaultBehavior: DefaultBehaviorSchema,
  behaviors: z.array(BehaviorSchema).default([]),
  /** Error pages and error caching per status (CloudFront's CustomErrorResponses). */
  customErrorResponses: z.array(CustomErrorResponseSchema).max(11).default([]),
  /** The certificate served for this distribution's host names (chosen by SNI); absent: the server's default one. */
  viewerCertificate: ViewerCertificateSchema.optional(),
  httpVersion: z.enum(HTTP_VERSIONS).default('http2'),
  recording: RecordingSchema.optional(),
});

export const FunctionSchema = z.strictObject({
  name,
  /** Path of the function's code file (relative to the config file). */
  code: z.string().min(1),
  runtime: z.enum(CONFIG_RUNTIMES).default('cloudfront-js-2.0'),
  /** Name of the KeyValueStore associated with the function (`cf.kvs()` with no argument). */
  store: name.optional(),
});

export const StoreSchema = z.strictObject({
  name,
  /**
   * The id the store has in AWS (the UUID in its ARN). The store is created with it, so function code that names
   * its store with `cf.kvs('<id>')` or the ARN reads this store unchanged.
   */
  awsId: z
    .string()
    .regex(
      /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/,
      'the UUID of the store in AWS, like a1b2c3d4-5678-90ab-cdef-0123456789ab',
    )
    .transform((id) => id.toLowerCase())
    .optional(),
  /** Optional seed data in the S3 import format `{"data":[{"key":..,"value":..}]}` (relative to the config file). */
  seed: z.string().min(1).optional(),
  /**
   * The store's value schema (docs/safe-changes.md, "Value schemas"): a JSON file path (relative to the config file)
   * or the document inline. Checked, compiled and applied when the node seeds its stores.
   */
  schema: z.union([z.string().min(1), z.record(z.string(), z.unknown())]).optional(),
});

export const ServerSchema = z
  .strictObject({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65_535).default(8080),
    /** Byte budget of the in-memory cache. */
    cacheBytes: z
      .number()
      .int()
      .min(0)
      .default(256 * 1024 * 1024),
    /** Cache tiers and object size limits (docs/edge.md, "Cache tiers"). */
    cache: z
      .strictObject({
        /** Largest body kept in the memory tier (the rest of `cacheBytes` is for many such small hot objects). */
        memoryObjectBytes: z
          .number()
          .int()
          .min(0)
          .default(1024 * 1024),
        /** Byte budget of the disk tier; 0 turns it off. */
        diskBytes: z
          .number()
          .int()
          .min(0)
          .default(1024 * 1024 * 1024),
        /** Largest body the disk tier keeps; larger ones are streamed through uncached. */
        maxObjectBytes: z
          .number()
          .int()
          .min(0)
          .default(1024 * 1024 * 1024),
        /** Directory of the disk tier (relative to the config file); default `cache/` in the data directory. Emptied at start. */
        diskDir: z.string().min(1).optional(),
      })
      .default({ memoryObjectBytes: 1024 * 1024, diskBytes: 1024 * 1024 * 1024, maxObjectBytes: 1024 * 1024 * 1024 }),
    /** Port of the HTTPS listener (HTTP/1.1 and HTTP/2); absent: no HTTPS. 0 picks a free port. */
    httpsPort: z.number().int().min(0).max(65_535).optional(),
    /** HTTPS listener settings and bounds (docs/edge.md#https). */
    tls: z
      .strictObject({
        /** Served when no distribution's certificate matches the SNI name (or there is none). */
        defaultCertificate: z.strictObject(certificateFiles).optional(),
        /** Security policy of the default certificate. */
        minimumProtocolVersion: z.enum(SECURITY_POLICIES).default('TLSv1.2_2021'),
        /** A connection that has not finished its TLS handshake by then is closed. */
        handshakeTimeoutMs: z.number().int().min(100).max(120_000).default(10_000),
        /** How often certificate files are checked for changes (mtime and size). */
        reloadIntervalMs: z.number().int().min(100).max(3_600_000).default(5_000),
        /** HTTP/2: streams one connection may have open (SETTINGS_MAX_CONCURRENT_STREAMS; CloudFront: 128). */
        maxConcurrentStreams: z.number().int().min(1).max(1000).default(128),
        /** HTTP/2: largest header list a viewer may send (SETTINGS_MAX_HEADER_LIST_SIZE); CloudFront's request limit. */
        maxHeaderListSize: z
          .number()
          .int()
          .min(1024)
          .max(1024 * 1024)
          .default(20_480),
      })
      .optional(),
    /** Names this node in `Via` and traces. */
    nodeId: z
      .string()
      .min(1)
      .regex(/^[A-Za-z0-9._-]+$/, 'use only letters, digits, ".", "-" and "_"')
      .optional(),
  })
  .default({
    host: '127.0.0.1',
    port: 8080,
    cacheBytes: 256 * 1024 * 1024,
    cache: { memoryObjectBytes: 1024 * 1024, diskBytes: 1024 * 1024 * 1024, maxObjectBytes: 1024 * 1024 * 1024 },
  });

/**
 * KeyValueStore limits: `cloudfront` (default) answers exactly like production (5 MB stores, 1 KB values, …);
 * `unlimited` is the self-hosting switch for far larger stores (see docs/kvs-storage.md).
 */
const KvsSchema = z
  .strictObject({
    limits: z.enum(['cloudfront', 'unlimited']).default('cloudfront'),
    /** The only directory CreateKeyValueStore's ImportSource may read (relative to the config file). Unset: off. */
    importDir: z.string().min(1).optional(),
    /** Store history retention (docs/kvs-storage.md, "History"): an entry goes when older than maxAgeDays AND not among the newest minVersions. */
    history: z
      .strictObject({
        maxAgeDays: z.number().min(0).max(36_500).default(30),
        minVersions: z.number().int().min(0).max(1_000_000_000).default(1000),
      })
      .optional(),
  })
  .default({ limits: 'cloudfront' });

/** Bounds of the API server (docs/security.md); each unset one keeps its default. */
const positiveInt = z.number().int().min(1);
const ApiSchema = z
  .strictObject({
    maxConnections: positiveInt.optional(),
    maxUnauthenticatedInFlight: positiveInt.optional(),
    headersTimeoutMs: positiveInt.optional(),
    requestTimeoutMs: positiveInt.optional(),
    keepAliveTimeoutMs: positiveInt.optional(),
    idleTimeoutMs: positiveInt.optional(),
  })
  .default({});

/** Decision records, live streams, metrics and access logs (docs/observability.md). */
const ObservabilitySchema = z
  .strictObject({
    /** Secrets in decision records and logs: Authorization and Cookie values always, plus these headers. */
    redact: z
      .strictObject({ enabled: z.boolean().default(true), headers: z.array(z.string().min(1).max(256)).max(100).default([]) })
      .default({ enabled: true, headers: [] }),
    /**
     * Recent decisions kept per edge for `GET /openfront/v1/decisions`: up to `perSecond` fully traced requests each
     * second while nobody tails, plus every 5xx (docs/observability.md, "Cost").
     */
    decisions: z
      .strictObject({ capacity: z.number().int().min(1).max(100_000).default(1000), perSecond: z.number().int().min(0).max(1_000_000).default(100) })
      .default({ capacity: 1000, perSecond: 100 }),
    /** Live streams (`openfront tail`): how many at once, and how far a slow reader may fall behind before records drop. */
    tail: z
      .strictObject({
        maxStreams: z.number().int().min(0).max(1000).default(16),
        maxBufferedBytes: z
          .number()
          .int()
          .min(1024)
          .max(64 * 1024 * 1024)
          .default(1024 * 1024),
      })
      .default({ maxStreams: 16, maxBufferedBytes: 1024 * 1024 }),
    /** Prometheus metrics: always on the API's signed /metrics; `port` adds an unsigned listener for scrapers. */
    metrics: z
      .strictObject({ enabled: z.boolean().default(true), host: z.string().min(1).default('127.0.0.1'), port: z.number().int().min(0).max(65_535).optional() })
      .default({ enabled: true, host: '127.0.0.1' }),
    /** Access logs: off unless a destination is given ("-" is stdout). */
    accessLog: z.strictObject({ path: z.string().min(1).optional(), includeCookies: z.boolean().default(false) }).default({ includeCookies: false }),
  })
  .default({
    redact: { enabled: true, headers: [] },
    decisions: { capacity: 1000, perSecond: 100 },
    tail: { maxStreams: 16, maxBufferedBytes: 1024 * 1024 },
    metrics: { enabled: true, host: '127.0.0.1' },
    accessLog: { includeCookies: false },
  });

export const ConfigSchema = z.strictObject({
  server: ServerSchema,
  api: ApiSchema,
  kvs: KvsSchema,
  observability: ObservabilitySchema,
  stores: z.array(StoreSchema).default([]),
  functions: z.array(FunctionSchema).default([]),
  cachePolicies: z.array(CachePolicySchema).default([]),
  distributions: z.array(DistributionSchema).min(1),
});

export type RawConfig = z.output<typeof ConfigSchema>;
