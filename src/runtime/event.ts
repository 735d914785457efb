/**
 * The CloudFront Functions event object, version "1.0" (CloudFront Developer Guide, "CloudFront Functions event structure").
 * These shapes are what a function reads and returns; the codec turns HTTP into them and back.
 */
export type RuntimeVersion = 'cloudfront-js-1.0' | 'cloudfront-js-2.0';
export const RUNTIMES: readonly RuntimeVersion[] = ['cloudfront-js-1.0', 'cloudfront-js-2.0'];

export type EventType = 'viewer-request' | 'viewer-response';

export interface CFValue {
  value: string;
  multiValue?: Array<{ value: string }>;
}

export interface CFSetCookie {
  value: string;
  attributes?: string;
  multiValue?: Array<{ value: string; attributes?: string }>;
}

export type CFValueMap = Record<string, CFValue>;

export interface CFContext {
  distributionDomainName?: string;
  endpoint?: string;
  distributionId?: string;
  eventType: EventType;
  requestId?: string;
}

export interface CFRequest {
  method: string;
  uri: string;
  /** A function may assign a plain string (the raw query string) — AWS's own samples do. */
  querystring: CFValueMap | string;
  headers: CFValueMap;
  cookies: CFValueMap;
}

export type CFBody = string | { data: string; encoding: 'text' | 'base64' };

export interface CFResponse {
  statusCode: number;
  statusDescription?: string;
  headers?: CFValueMap;
  cookies?: Record<string, CFSetCookie>;
  body?: CFBody;
}

export interface CFEvent {
  version: '1.0';
  context: CFContext;
  viewer: { ip: string };
  request: CFRequest;
  response?: CFResponse;
}
