/**
 * The resolved edge configuration: what `loadConfig` / `parseConfig` return after validation. Paths are absolute,
 * defaults are filled in, and behaviors carry their cache policy object rather than its name.
 */
import type { RuntimeVersion } from '../runtime/event.js';

/** Which headers / cookies / query-string parameters enter the cache key (and are forwarded to the origin). */
export interface CacheKeyItems {
  behavior: 'none' | 'whitelist' | 'allExcept' | 'all';
  /** Names for `whitelist` / `allExcept`; header names are lowercase. */
  names: string[];
}

export interface CachePolicyConfig {
  name: string;
  /** Seconds. */
  minTtl: number;
  /** Seconds. */
  defaultTtl: number;
  /** Seconds. */
  maxTtl: number;
  headers: CacheKeyItems;
  cookies: CacheKeyItems;
  queryStrings: CacheKeyItems;
  /** CloudFront's EnableAcceptEncodingGzip: gzip in the normalised Accept-Encoding of the key (docs/edge.md, "Compression"). */
  enableAcceptEncodingGzip?: boolean;
  /** CloudFront's EnableAcceptEncodingBrotli. */
  enableAcceptEncodingBrotli?: boolean;
}

/** An HTTP or HTTPS server the edge forwards to. */
export interface CustomOriginConfig {
  kind: 'custom';
  id: string;
  protocol: 'http' | 'https';
  domainName: string;
  port: number;
  /** Prefix added in front of the request path; '' for none. */
  originPath: string;
  /** Connection tries per request (1–3, CloudFront's ConnectionAttempts). */
  connectionAttempts: number;
  /** Per connection attempt (CloudFront's ConnectionTimeout). */
  connectTimeoutMs: number;
  /** Until the first response byte and between bytes (CloudFront's OriginReadTimeout). */
  readTimeoutMs: number;
  /** Idle time an origin connection is kept for reuse (CloudFront's OriginKeepaliveTimeout). */
  keepaliveTimeoutMs: number;
  maxConnections: number;
  customHeaders: Record<string, string>;
}

/** A local directory served as an origin (what an S3 bucket is to CloudFront). */
export interface StaticOriginConfig {
  kind: 'static';
  id: string;
  /** Absolute path of the directory. */
  root: string;
}

export type OriginConfig = CustomOriginConfig | StaticOriginConfig;

export interface OriginGroupConfig {
  id: string;
  primary: string;
  secondary: string;
  failoverStatusCodes: number[];
}

export interface FunctionAssociations {
  viewerRequest?: string;
  viewerResponse?: string;
}

/** CloudFront's ViewerProtocolPolicy. */
export type ViewerProtocolPolicy = 'allow-all' | 'redirect-to-https' | 'https-only';

/** CloudFront's security policies (ViewerCertificate.MinimumProtocolVersion). */
export type SecurityPolicy =
  'SSLv3' | 'TLSv1' | 'TLSv1_2016' | 'TLSv1.1_2016' | 'TLSv1.2_2018' | 'TLSv1.2_2019' | 'TLSv1.2_2021' | 'TLSv1.2_2025' | 'TLSv1.3_2025';

/** CloudFront's DistributionConfig.HttpVersion. */
export type HttpVersion = 'http1.1' | 'http2' | 'http3' | 'http2and3';

/** PEM files of a certificate (with its chain) and its private key; absolute paths. */
export interface CertificateFiles {
  certificatePath: string;
  privateKeyPath: string;
}

export interface ViewerCertificateConfig extends CertificateFiles {
  minimumProtocolVersion: SecurityPolicy;
}

/** The HTTPS listener's certificate fallback and bounds (server.tls). */
export interface ServerTlsConfig {
  /** Absent: `openfront start` makes a self-signed one for localhost in the data directory. */
  defaultCertificate?: CertificateFiles;
  minimumProtocolVersion: SecurityPolicy;
  handshakeTimeoutMs: number;
  reloadIntervalMs: number;
  maxConcurrentStreams: number;
  maxHeaderListSize: number;
}

export interface BehaviorConfig {
  /** CloudFront path pattern; the default behavior has `*`. */
  pathPattern: string;
  /** Absent: `allow-all`. */
  viewerProtocolPolicy?: ViewerProtocolPolicy;
  /** Origin id or origin-group id. */
  origin: string;
  cachePolicy: CachePolicyConfig;
  functions: FunctionAssociations;
  /** CloudFront's automatic compression (Compress); needs the cache policy's encoding flags. */
  compress?: boolean;
}

/** CloudFront's CustomErrorResponse: what the viewer gets for an error status, and how long the error is cached. */
export interface CustomErrorResponseConfig {
  errorCode: number;
  /** Set together with `responseCode`: the page served instead of the error. */
  responsePagePath?: string;
  responseCode?: number;
  /** Seconds (CloudFront's ErrorCachingMinTTL); 10 when not given. */
  errorCachingMinTtl: number;
}

export interface DistributionConfig {
  id: string;
  /** Lowercase; exact names, `*.suffix` wildcards, or `*`. */
  hostnames: string[];
  /** `event.context.distributionDomainName`. */
  domainName: string;
  origins: OriginConfig[];
  originGroups: OriginGroupConfig[];
  defaultBehavior: BehaviorConfig;
  /** Evaluated in order; the first match wins, else `defaultBehavior`. */
  behaviors: BehaviorConfig[];
  /** At most one entry per error code; absent or empty: none. */
  customErrorResponses?: CustomErrorResponseConfig[];
  /** Served to viewers whose SNI name is one of `hostnames`; absent: the server's default certificate. */
  viewerCertificate?: ViewerCertificateConfig;
  /** Absent: `http2`. */
  httpVersion?: HttpVersion;
  /** Absent: the edge records none of this distribution's requests (docs/safe-changes.md, "Dry-run"). */
  recording?: RecordingConfig;
}

/** A bounded sample of viewer requests kept for `openfront dry-run` (docs/config.md, "recording"). */
export interface RecordingConfig {
  /** Fraction of requests recorded, 0 < rate ≤ 1. */
  sampleRate: number;
  /** Requests kept; the oldest go first. */
  maxRequests: number;
  /** A request whose method, target, headers and cookies take more bytes than this is not recorded. */
  maxRequestBytes: number;
  /** Bytes kept over all recorded requests; the oldest go first. */
  maxTotalBytes: number;
  /** Requests recorded per second at most (the rest of that second is skipped). */
  maxPerSecond: number;
  /** More header names whose values are redacted (lowercase). */
  redactHeaders: string[];
  /** Header names kept as they are although redacted by default (e.g. `authorization` on a test system). */
  keepHeaders: string[];
  /** Cookie names whose values are kept (`*`: every cookie); all others are redacted. */
  keepCookies: string[];
  /** Keep the sample in the node's data directory across restarts. */
  persist: boolean;
}

export interface FunctionConfig {
  name: string;
  /** Absolute path of the code file. */
  codePath: string;
  runtime: RuntimeVersion;
  /** Name of the associated KeyValueStore. */
  store?: string;
}

export interface StoreConfig {
  name: string;
  /** The id the store has in AWS (lowercase), when given: the store is created with it. */
  awsId?: string;
  /** Absolute path of the seed file (S3 import format). */
  seedPath?: string;
  /** The value schema: a document file (absolute path) or the document itself, as the config gave it. */
  schema?: { path: string } | { inline: Record<string, unknown> };
}

export interface ServerConfig {
  host: string;
  port: number;
  cacheBytes: number;
  /** Cache tiers (docs/edge.md, "Cache tiers"); `diskDir` absolute when set, else the node's data directory decides. */
  cache: { memoryObjectBytes: number; diskBytes: number; maxObjectBytes: number; diskDir?: string };
  /** HTTPS listener port; absent: no HTTPS listener. */
  httpsPort?: number;
  /** Absent when the config has no `server.tls` section (defaults apply). */
  tls?: ServerTlsConfig;
  /** Names this node in `Via` and traces (defaults to the machine's host name). */
  nodeId: string;
}

/** Decision records, live streams, metrics and access logs (docs/observability.md). */
export interface ObservabilityConfig {
  redact: { enabled: boolean; headers: string[] };
  decisions: { capacity: number; perSecond: number };
  tail: { maxStreams: number; maxBufferedBytes: number };
  metrics: { enabled: boolean; host: string; port?: number };
  /** `path` absent: no access log; "-": stdout. */
  accessLog: { path?: string; includeCookies: boolean };
}

export interface ApiLimitsConfig {
  maxConnections?: number;
  maxUnauthenticatedInFlight?: number;
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  keepAliveTimeoutMs?: number;
  idleTimeoutMs?: number;
}

export interface EdgeConfig {
  /** Directory relative paths in the file were resolved against. */
  baseDir: string;
  /** `unlimited` lifts CloudFront's KeyValueStore limits (self-hosted stores far beyond 5 MB). */
  kvsLimits: 'cloudfront' | 'unlimited';
  /** Absolute path of the directory ImportSource may read (`kvs.importDir`); undefined: ImportSource is off. */
  kvsImportDir?: string;
  /** Store history retention from `kvs.history` (unset: the default, 30 days and at least 1,000 versions). */
  kvsHistory?: { maxAgeDays: number; minVersions: number };
  server: ServerConfig;
  observability: ObservabilityConfig;
  /** API server bounds from the config's `api` section (unset ones keep their defaults, docs/security.md). */
  apiLimits: ApiLimitsConfig;
  stores: StoreConfig[];
  functions: FunctionConfig[];
  cachePolicies: CachePolicyConfig[];
  distributions: DistributionConfig[];
}

/** One thing wrong with a config file: where (`distributions[0].origins[1].url`) and what. */
export interface ConfigProblem {
  path: string;
  message: string;
}
