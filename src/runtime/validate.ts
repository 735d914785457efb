/**
 * Validation of what a handler returned (CloudFront Developer Guide, "CloudFront Functions event structure"). A failure is CloudFront's "validation error": the
 * function ran to completion but its result cannot be used, and the viewer gets HTTP 502.
 *
 * Only what a function created or changed is held to the creation rules (query characters, URL length, cookie
 * syntax): unchanged values came from the viewer or from a test event and are forwarded as they are.
 */
import { OpenFrontError } from '../errors.js';
import { entryChanged, jsonEqual, serializeQueryString } from './codec.js';
import type { CFBody, CFEvent, CFRequest, CFResponse, CFSetCookie, CFValue, CFValueMap, EventType } from './event.js';
import { forbiddenHeaderValueChar, hasForbiddenHeaderValueChars, isDisallowedHeader, isReadOnlyHeader, isValidHeaderName } from './headers.js';
import { describeValue, isPlainObject, keyPath } from './json-path.js';

export type ValidatedResult = { kind: 'request'; request: CFRequest } | { kind: 'response'; response: CFResponse };

/**
 * Largest generated or replaced body, in bytes after base64 decoding. CloudFront publishes no figure for
 * functions; this is Lambda@Edge's viewer-event limit for a generated response (CloudFront Developer Guide, "Quotas on Lambda@Edge"), our documented choice.
 */
export const MAX_FUNCTION_BODY_BYTES = 40 * 1024;

/** A changed URI plus query string must stay below this many characters (CloudFront: "< 8,192"). */
export const MAX_URL_LENGTH = 8192;

/**
 * Status codes a function may return. 1xx codes are interim responses and cannot end an exchange, and HTTP has no
 * codes above 599, so anything outside 200–599 is refused (our choice: CloudFront only says "valid").
 */
export const MIN_STATUS_CODE = 200;
export const MAX_STATUS_CODE = 599;

/** Machine-readable cause, in `error.details.reason`. */
export type ValidationReason =
  | 'not-object'
  | 'wrong-kind'
  | 'status-code'
  | 'status-description'
  | 'method-changed'
  | 'uri'
  | 'url-too-long'
  | 'querystring'
  | 'shape'
  | 'header-name'
  | 'header-value'
  | 'header-disallowed'
  | 'header-read-only'
  | 'cookie'
  | 'body'
  | 'body-too-large';

/** `returned` is what the handler returned (already copied out of the sandbox as plain JSON data). */
export function validateResult(returned: unknown, event: CFEvent): ValidatedResult {
  if (!isPlainObject(returned)) {
    fail('not-object', `The function must return an object, not ${describeValue(returned)}`);
  }
  const eventType = event.context.eventType;
  if (returned.statusCode !== undefined) {
    return { kind: 'response', response: validateResponse(returned, eventType, eventType === 'viewer-response' ? event.response : undefined) };
  }
  if (eventType === 'viewer-response') {
    fail('wrong-kind', 'A viewer-response function must return a response object (statusCode is missing)', 'statusCode');
  }
  return { kind: 'request', request: validateRequest(returned, event.request) };
}

function validateRequest(returned: Record<string, unknown>, original: CFRequest): CFRequest {
  if (returned.method !== original.method) {
    fail(
      'method-changed',
      `request.method is read-only: the event had ${JSON.stringify(original.method)}, the function returned ${describeValue(returned.method)}`,
      'method',
    );
  }
  const uri = returned.uri;
  if (typeof uri !== 'string' || !uri.startsWith('/')) {
    fail('uri', `request.uri must be a string starting with "/", got ${describeValue(uri)}`, 'uri');
  }

  const originalQuery = typeof original.querystring === 'string' ? undefined : original.querystring;
  const querystring = validateQuerystring(returned.querystring, originalQuery);
  const queryChanged = !jsonEqual(querystring, original.querystring);
  if (uri !== original.uri || queryChanged) {
    const query = serializeQueryString(querystring);
    const length = uri.length + (query === '' ? 0 : query.length + 1);
    if (length >= MAX_URL_LENGTH) {
      fail('url-too-long', `request.uri plus query string is ${length} characters; it must be shorter than ${MAX_URL_LENGTH}`, 'uri');
    }
  }

  const headers = validateHeaders('request.headers', returned.headers, original.headers, 'viewer-request', 'cookie');
  const cookies = validateValueMap('request.cookies', returned.cookies, true);
  for (const [name, entry] of Object.entries(cookies)) {
    if (entryChanged(own(original.cookies, name), entry)) checkCookie(`request.cookies${keyPath(name)}`, name, entry);
  }
  return { method: original.method, uri, querystring, headers, cookies };
}

function validateQuerystring(value: unknown, original: CFValueMap | undefined): CFValueMap | string {
  if (typeof value === 'string') {
    checkQueryText('request.querystring', value);
    return value;
  }
  const map = validateValueMap('request.querystring', value, true);
  for (const [name, entry] of Object.entries(map)) {
    if (original !== undefined && !entryChanged(own(original, name), entry)) continue;
    const path = `request.querystring${keyPath(name)}`;
    checkQueryText(`${path} (name)`, name);
    for (const item of occurrences(entry)) checkQueryText(path, item.value);
  }
  return map;
}

function checkQueryText(path: string, text: string): void {
  const bad = /[ #\x00-\x1f\x7f]/.exec(text);
  if (bad) {
    const what = bad[0] === ' ' ? 'a space' : bad[0] === '#' ? '"#"' : `control character U+${bad[0].charCodeAt(0).toString(16).padStart(4, '0')}`;
    fail('querystring', `${path} must not contain spaces, control characters or "#"; found ${what}`, path);
  }
}

function validateResponse(returned: Record<string, unknown>, eventType: EventType, original: CFResponse | undefined): CFResponse {
  const statusCode = returned.statusCode;
  if (typeof statusCode !== 'number' || !Number.isInteger(statusCode) || statusCode < MIN_STATUS_CODE || statusCode > MAX_STATUS_CODE) {
    fail('status-code', `response.statusCode must be an integer from ${MIN_STATUS_CODE} to ${MAX_STATUS_CODE}, got ${describeValue(statusCode)}`, 'statusCode');
  }
  const response: CFResponse = { statusCode };

  const statusDescription = returned.statusDescription;
  if (statusDescription !== undefined) {
    // RFC 9112 reason-phrase: the same characters as a field value (HTAB, SP, VCHAR, obs-text).
    if (typeof statusDescription !== 'string' || hasForbiddenHeaderValueChars(statusDescription)) {
      fail(
        'status-description',
        `response.statusDescription must be a string of visible characters, spaces and tabs (RFC 9112 reason-phrase), got ${describeValue(statusDescription)}`,
        'statusDescription',
      );
    }
    response.statusDescription = statusDescription;
  }

  if (returned.headers !== undefined) {
    // Read-only rules compare against the origin's response; a generated response has none to protect.
    response.headers =
      eventType === 'viewer-response'
        ? validateHeaders('response.headers', returned.headers, original?.headers ?? {}, 'viewer-response', 'set-cookie')
        : validateHeaders('response.headers', returned.headers, {}, undefined, 'set-cookie');
  }
  if (returned.cookies !== undefined) response.cookies = validateSetCookies(returned.cookies, original?.cookies ?? {});
  if (returned.body !== undefined) response.body = validateBody(returned.body);
  return response;
}

/**
 * Header maps: lowercase token names, string values, no disallowed header added or changed, no read-only header
 * added or changed (deleting one is allowed: whether CloudFront enforces that is unconfirmed).
 */
function validateHeaders(
  path: string,
  value: unknown,
  original: CFValueMap,
  readOnlyFor: EventType | undefined,
  cookieHeader: 'cookie' | 'set-cookie',
): CFValueMap {
  const map = validateValueMap(path, value, false);
  for (const name in map) {
    const entry = map[name] as CFValue;
    // Unchanged headers came from the viewer (or the test event) and are forwarded as they are: only what the
    // function added or changed is held to the rules. Paths are only built on failure: this loop runs for every
    // header of every invocation.
    const before = own(original, name);
    if (before !== undefined && !entryChanged(before, entry)) continue;
    if (name !== name.toLowerCase()) {
      fail('header-name', `${pathOf(path, name)}: header names must be lowercase (use ${JSON.stringify(name.toLowerCase())})`, pathOf(path, name));
    }
    if (!isValidHeaderName(name)) fail('header-name', `${pathOf(path, name)}: ${JSON.stringify(name)} is not a valid header name`, pathOf(path, name));
    if (name === cookieHeader) {
      const home = cookieHeader === 'cookie' ? 'request.cookies' : 'response.cookies';
      fail('header-name', `${pathOf(path, name)}: ${cookieHeader} is not a header in the event; use ${home}`, pathOf(path, name));
    }
    if (hasForbiddenValue(entry)) {
      const bad = [entry, ...(entry.multiValue ?? [])].map((item) => forbiddenHeaderValueChar(item.value)).find((c) => c !== undefined);
      fail(
        'header-value',
        `${pathOf(path, name)}: header values must be RFC 9110 field values (no control characters but HTAB, nothing above U+00FF); found ${bad}`,
        pathOf(path, name),
      );
    }
    if (isDisallowedHeader(name)) {
      fail('header-disallowed', `${pathOf(path, name)}: the ${name} header may not be ${before ? 'modified' : 'added'} by a function`, pathOf(path, name));
    }
    if (readOnlyFor !== undefined && isReadOnlyHeader(name, readOnlyFor)) {
      fail(
        'header-read-only',
        `${pathOf(path, name)}: the ${name} header is read-only in ${readOnlyFor} functions and may not be ${before ? 'modified' : 'added'}`,
        pathOf(path, name),
      );
    }
  }
  return map;
}

function hasForbiddenValue(entry: CFValue): boolean {
  if (hasForbiddenHeaderValueChars(entry.value)) return true;
  const items = entry.multiValue;
  if (items === undefined) return false;
  for (let i = 0; i < items.length; i++) if (hasForbiddenHeaderValueChars((items[i] as { value: string }).value)) return true;
  return false;
}

/** `{name: {value, multiValue?}}`; returns a copy holding only those fields. */
function validateValueMap(path: string, value: unknown, allowEmptyNames: boolean): CFValueMap {
  if (!isPlainObject(value)) fail('shape', `${path} must be an object, got ${describeValue(value)}`, path);
  const map: CFValueMap = {};
  for (const name of Object.keys(value)) {
    const raw = value[name];
    if (!allowEmptyNames && name === '') fail('header-name', `${pathOf(path, name)}: names must not be empty`, pathOf(path, name));
    if (!isPlainObject(raw)) fail('shape', `${pathOf(path, name)} must be an object like {"value": "..."}, got ${describeValue(raw)}`, pathOf(path, name));
    if (typeof raw.value !== 'string') {
      fail('shape', `${pathOf(path, name)}.value must be a string, got ${describeValue(raw.value)}`, `${pathOf(path, name)}.value`);
    }
    const entry: CFValue = { value: raw.value };
    if (raw.multiValue !== undefined) {
      entry.multiValue = validateItems(`${pathOf(path, name)}.multiValue`, raw.multiValue, false).map((item) => ({ value: item.value }));
    }
    define(map, name, entry);
  }
  return map;
}

function validateItems(path: string, value: unknown, withAttributes: boolean): Array<{ value: string; attributes?: string }> {
  if (!Array.isArray(value)) fail('shape', `${path} must be an array of {"value": "..."}, got ${describeValue(value)}`, path);
  return value.map((raw: unknown, i) => {
    const at = `${path}[${i}]`;
    if (!isPlainObject(raw)) fail('shape', `${at} must be an object like {"value": "..."}, got ${describeValue(raw)}`, at);
    if (typeof raw.value !== 'string') fail('shape', `${at}.value must be a string, got ${describeValue(raw.value)}`, `${at}.value`);
    const item: { value: string; attributes?: string } = { value: raw.value };
    if (withAttributes && raw.attributes !== undefined) {
      if (typeof raw.attributes !== 'string') fail('cookie', `${at}.attributes must be a string, got ${describeValue(raw.attributes)}`, `${at}.attributes`);
      item.attributes = raw.attributes;
    }
    return item;
  });
}

function validateSetCookies(value: unknown, original: Record<string, CFSetCookie>): Record<string, CFSetCookie> {
  if (!isPlainObject(value)) fail('shape', `response.cookies must be an object, got ${describeValue(value)}`, 'response.cookies');
  const cookies: Record<string, CFSetCookie> = {};
  for (const [name, raw] of Object.entries(value)) {
    const at = `response.cookies${keyPath(name)}`;
    if (!isPlainObject(raw)) fail('shape', `${at} must be an object like {"value": "...", "attributes": "..."}, got ${describeValue(raw)}`, at);
    if (typeof raw.value !== 'string') fail('shape', `${at}.value must be a string, got ${describeValue(raw.value)}`, `${at}.value`);
    const cookie: CFSetCookie = { value: raw.value };
    if (raw.attributes !== undefined) {
      if (typeof raw.attributes !== 'string') fail('cookie', `${at}.attributes must be a string, got ${describeValue(raw.attributes)}`, `${at}.attributes`);
      cookie.attributes = raw.attributes;
    }
    if (raw.multiValue !== undefined) cookie.multiValue = validateItems(`${at}.multiValue`, raw.multiValue, true);
    if (entryChanged(own(original, name), cookie)) checkCookie(at, name, cookie);
    define(cookies, name, cookie);
  }
  return cookies;
}

/** A created or changed cookie must survive being written as `name=value[; attributes]`. */
function checkCookie(at: string, name: string, entry: CFValue | CFSetCookie): void {
  // The cookie ends up inside a Cookie or Set-Cookie header line: the field-value rules apply to all of it.
  if (name === '' || /[\s;=,\x00-\x1f\x7f]/.test(name) || hasForbiddenHeaderValueChars(name))
    fail('cookie', `${at}: ${JSON.stringify(name)} is not a valid cookie name`, at);
  for (const item of occurrences(entry)) {
    if (/[;\x00-\x1f\x7f]/.test(item.value) || hasForbiddenHeaderValueChars(item.value)) {
      fail('cookie', `${at}: cookie values must not contain ";", control characters or characters above U+00FF`, at);
    }
    if (item.attributes !== undefined && hasForbiddenHeaderValueChars(item.attributes)) {
      fail('cookie', `${at}: cookie attributes must not contain control characters (but HTAB) or characters above U+00FF`, at);
    }
  }
}

function validateBody(body: unknown): CFBody {
  let size: number;
  let result: CFBody;
  if (typeof body === 'string') {
    size = Buffer.byteLength(body, 'utf8');
    result = body;
  } else if (isPlainObject(body)) {
    const { data, encoding } = body;
    if (typeof data !== 'string') fail('body', `response.body.data must be a string, got ${describeValue(data)}`, 'response.body.data');
    if (encoding !== 'text' && encoding !== 'base64') {
      fail('body', `response.body.encoding must be "text" or "base64", got ${describeValue(encoding)}`, 'response.body.encoding');
    }
    if (encoding === 'base64' && !isBase64(data)) fail('body', 'response.body.data is not valid base64', 'response.body.data');
    size = encoding === 'base64' ? Buffer.from(data, 'base64').length : Buffer.byteLength(data, 'utf8');
    result = { data, encoding };
  } else {
    fail('body', `response.body must be a string or {"data": "...", "encoding": "text" | "base64"}, got ${describeValue(body)}`, 'response.body');
  }
  if (size > MAX_FUNCTION_BODY_BYTES) {
    fail('body-too-large', `response.body is ${size} bytes; a function may generate at most ${MAX_FUNCTION_BODY_BYTES} bytes`, 'response.body');
  }
  return result;
}

/** Standard alphabet; padding optional (what btoa and Buffer produce, and their unpadded form); no whitespace. */
function isBase64(data: string): boolean {
  return /^[A-Za-z0-9+/]*={0,2}$/.test(data) && (data.endsWith('=') ? data.length % 4 === 0 : data.length % 4 !== 1);
}

/** Every value that may reach the wire: `value` (it replaces the first occurrence) and each multiValue item. */
function occurrences(entry: CFValue | CFSetCookie): Array<{ value: string; attributes?: string }> {
  return [entry, ...(entry.multiValue ?? [])];
}

function fail(reason: ValidationReason, message: string, field?: string): never {
  throw new OpenFrontError('FUNCTION_VALIDATION_ERROR', message, field === undefined ? { reason } : { reason, field });
}

function pathOf(path: string, name: string): string {
  return `${path}${keyPath(name)}`;
}

function own<E>(map: Record<string, E>, name: string): E | undefined {
  return Object.hasOwn(map, name) ? map[name] : undefined;
}

function define<E>(map: Record<string, E>, name: string, value: E): void {
  // Plain assignment is much cheaper; only a key literally named __proto__ needs defineProperty to stay data.
  if (name === '__proto__') Object.defineProperty(map, name, { value, enumerable: true, writable: true, configurable: true });
  else map[name] = value;
}
