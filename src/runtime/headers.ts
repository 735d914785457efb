/**
 * CloudFront's header rules for functions (CloudFront Developer Guide, "Restrictions on edge functions"): which headers a function never sees, which it
 * may read but not touch, and how names are written back on the wire.
 */
import type { EventType } from './event.js';

/**
 * Headers CloudFront never shows a function and never lets it add (lowercase). CloudFront sets or strips these
 * itself, so the codec neither exposes them nor forwards a viewer's or origin's copy.
 */
export const DISALLOWED_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'expect',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'trailer',
  'upgrade',
  'x-accel-buffering',
  'x-accel-charset',
  'x-accel-limit-rate',
  'x-accel-redirect',
  'x-amzn-auth',
  'x-amzn-cf-billing',
  'x-amzn-cf-id',
  'x-amzn-cf-xff',
  'x-amzn-errortype',
  'x-amzn-fle-profile',
  'x-amzn-header-count',
  'x-amzn-header-order',
  'x-amzn-lambda-integration-tag',
  'x-amzn-requestid',
  'x-cache',
  'x-forwarded-proto',
  'x-real-ip',
]);

/** Whole families of disallowed headers (`X-Amz-Cf-*`, `X-Edge-*`). */
export const DISALLOWED_HEADER_PREFIXES: readonly string[] = ['x-amz-cf-', 'x-edge-'];

/** Headers a function may read but not add or modify, per event type (lowercase). */
export const READ_ONLY_HEADERS: Readonly<Record<EventType, ReadonlySet<string>>> = {
  'viewer-request': new Set(['cdn-loop', 'content-length', 'host', 'transfer-encoding', 'via']),
  'viewer-response': new Set(['warning', 'via']),
};

/** `name` must already be lowercase. */
export function isDisallowedHeader(name: string): boolean {
  return DISALLOWED_HEADERS.has(name) || DISALLOWED_HEADER_PREFIXES.some((prefix) => name.startsWith(prefix));
}

/** `name` must already be lowercase. */
export function isReadOnlyHeader(name: string, eventType: EventType): boolean {
  return READ_ONLY_HEADERS[eventType].has(name);
}

/** CloudFront re-capitalises each hyphen-separated word on the way out: `x-custom-thing` → `X-Custom-Thing`. */
export function capitalizeHeaderName(name: string): string {
  return name
    .split('-')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('-');
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** RFC 9110 field-name syntax; anything else cannot be written to the wire. */
export function isValidHeaderName(name: string): boolean {
  return TOKEN.test(name);
}

/** CR, LF and NUL would split or truncate a header line (node:http refuses them outright). */
export function hasForbiddenHeaderValueChars(value: string): boolean {
  return /[\r\n\0]/.test(value);
}
