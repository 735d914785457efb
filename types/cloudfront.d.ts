/**
 * Types for CloudFront Functions code (cloudfront-js-1.0 / 2.0): the event a handler receives, what it may return,
 * and the `cloudfront` module of runtime 2.0. Load them with `"types": ["openfront/cloudfront"]` in tsconfig.json
 * or `/// <reference types="openfront/cloudfront" />` (see docs/typescript.md).
 *
 * `crypto`, `querystring` and `Buffer` are typed by @types/node, which describes a superset of what the runtime
 * offers: `openfront check` / `openfront build` reject what CloudFront does not accept.
 */
declare module 'cloudfront' {
  /** One query parameter, header or cookie. `multiValue` holds every value when there are several. */
  export interface ValueObject {
    value: string;
    multiValue?: Array<{ value: string }>;
  }

  /** A cookie the response sets: `attributes` is the `Set-Cookie` text after the value (`Path=/; Secure`). */
  export interface SetCookieObject {
    value: string;
    attributes?: string;
    multiValue?: Array<{ value: string; attributes?: string }>;
  }

  /** Header names are lowercase. */
  export type ValueMap = Record<string, ValueObject>;

  export type EventType = 'viewer-request' | 'viewer-response';

  export interface EventContext {
    distributionDomainName?: string;
    distributionId?: string;
    eventType: EventType;
    requestId?: string;
    endpoint?: string;
  }

  export interface CloudFrontRequest {
    method: string;
    uri: string;
    /** Parameters as received (not percent-decoded). A function may assign a plain query string instead. */
    querystring: ValueMap | string;
    headers: ValueMap;
    cookies: ValueMap;
    /** The query string exactly as received, without `?`; undefined when the URL had no `?`. */
    rawQueryString(): string | undefined;
  }

  export type CloudFrontBody = string | { data: string; encoding: 'text' | 'base64' };

  export interface CloudFrontResponse {
    statusCode: number;
    statusDescription?: string;
    headers?: ValueMap;
    cookies?: Record<string, SetCookieObject>;
    /** Only in responses a viewer-request function generates (viewer-response functions never see the body). */
    body?: CloudFrontBody;
  }

  export interface CloudFrontEvent {
    version: '1.0';
    context: EventContext;
    viewer: { ip: string };
    request: CloudFrontRequest;
    /** Present in viewer-response events. */
    response?: CloudFrontResponse;
  }

  export interface ViewerRequestEvent extends CloudFrontEvent {
    context: EventContext & { eventType: 'viewer-request' };
  }

  export interface ViewerResponseEvent extends CloudFrontEvent {
    context: EventContext & { eventType: 'viewer-response' };
    response: CloudFrontResponse;
  }

  /** A viewer-request handler forwards the (changed) request or answers with a response. Async needs 2.0. */
  export type ViewerRequestHandler = (
    event: ViewerRequestEvent,
  ) => CloudFrontRequest | CloudFrontResponse | Promise<CloudFrontRequest | CloudFrontResponse>;

  /** A viewer-response handler returns the (changed) response. Async needs 2.0. */
  export type ViewerResponseHandler = (event: ViewerResponseEvent) => CloudFrontResponse | Promise<CloudFrontResponse>;

  export interface KvsMetadata {
    /** ISO-8601 */
    creationDateTime: string;
    /** ISO-8601 */
    lastUpdatedDateTime: string;
    keyCount: number;
  }

  /** A read-only KeyValueStore handle. Every read in one invocation sees the same store version. */
  export interface KvsHandle {
    /** Rejects when the key does not exist. */
    get(key: string, options?: { format?: 'string' }): Promise<string>;
    get<T = unknown>(key: string, options: { format: 'json' }): Promise<T>;
    get(key: string, options: { format: 'bytes' }): Promise<Uint8Array>;
    exists(key: string): Promise<boolean>;
    meta(): Promise<KvsMetadata>;
  }

  export interface OriginOverrides {
    hostHeader?: string;
    sni?: string;
    allowedCertificateNames?: string[];
  }

  export interface UpdateRequestOriginParams extends OriginOverrides {
    domainName?: string;
    originPath?: string;
    /** Plain `{name: value}` map; `{}` clears the headers the origin would add. */
    customHeaders?: Record<string, string>;
    /** 1–3 */
    connectionAttempts?: number;
    originShield?: { enabled: boolean; region?: string };
    originAccessControlConfig?: {
      enabled: boolean;
      signingBehavior?: 'always' | 'never' | 'no-override';
      signingProtocol?: 'sigv4';
      originType?: 's3' | 'mediapackagev2' | 'mediastore' | 'lambda';
    };
    /** Seconds. */
    timeouts?: { readTimeout?: number; responseCompletionTimeout?: number; keepAliveTimeout?: number; connectionTimeout?: number };
    customOriginConfig?: {
      port: number;
      protocol: 'http' | 'https';
      sslProtocols?: Array<'SSLv3' | 'TLSv1' | 'TLSv1.1' | 'TLSv1.2'>;
      ipAddressType?: 'ipv4' | 'ipv6' | 'dualstack';
    };
  }

  export interface CreateRequestOriginGroupParams {
    /** Exactly two: primary first. */
    originIds: [string | { originId: string; originOverrides?: OriginOverrides }, string | { originId: string; originOverrides?: OriginOverrides }];
    selectionCriteria?: 'default' | 'media-quality-score';
    failoverCriteria: { statusCodes: number[] };
  }

  export interface CloudFrontModule {
    /** The store associated with the function, or the one with this id. Throws when none is associated. */
    kvs(kvsId?: string): KvsHandle;
    /** viewer-request only: change the origin of this request. */
    updateRequestOrigin(params: UpdateRequestOriginParams): void;
    /** viewer-request only: send this request to another origin of the distribution. */
    selectRequestOriginById(originId: string, overrides?: OriginOverrides): void;
    /** viewer-request only: an ad-hoc failover pair of the distribution's origins. */
    createRequestOriginGroup(params: CreateRequestOriginGroupParams): void;
    /** viewer-request only. */
    readonly edgeLocation: { name: string; serverIp: string; region: string };
    /** Text for the access log's `*-log-data` field (at most 800 bytes; the last call wins). */
    logCustomData(text: string): void;
  }

  const cf: CloudFrontModule;
  export default cf;
}
