/**
 * Test events (CloudFront console, TestFunction `EventObject`, the aws-samples `test-objects/*.json` files) and
 * the TestFunction `FunctionOutput` text (CloudFront Developer Guide, event structure; CloudFront API Reference, TestFunction).
 *
 * Test events are hand-written and routinely incomplete; normalisation fills what CloudFront's test harness
 * evidently fills and refuses what a function could not run against, naming the JSON path of the problem.
 */
import { OpenFrontError } from '../errors.js';
import { parseQueryString, serializeQueryString } from './codec.js';
import type { CFContext, CFEvent, CFRequest, CFResponse, CFSetCookie, CFValueMap } from './event.js';
import { describeValue, isPlainObject, keyPath } from './json-path.js';

/**
 * `viewer.ip` when a test event has none: the address the CloudFront console's sample test event uses (the
 * aws-samples files always carry their own `0.0.0.0`).
 */
export const DEFAULT_TEST_VIEWER_IP = '1.2.3.4';

/**
 * Accept what the CloudFront console / TestFunction / aws-samples test events contain and return a full event.
 *
 * `input` is JSON text (a leading BOM or blank lines are fine), its bytes, or the parsed value. Filled in when
 * missing: `version` "1.0"; `context.eventType` (viewer-response when there is a `response`, else viewer-request);
 * `viewer.ip` ({@link DEFAULT_TEST_VIEWER_IP}); `request.querystring`/`headers`/`cookies` and `response.headers`/
 * `cookies` as `{}`. The other `context` fields stay absent when absent, as in the CloudFront console.
 * `"multivalue"` (the spelling every aws-samples event uses) is read as `multiValue`. A `response.body` is dropped
 * (functions never see the origin body) and so is a `response` in a viewer-request event.
 */
export function normalizeTestEvent(input: unknown): CFEvent {
  const root = parseInput(input);
  if (!isPlainObject(root)) invalid('event', `must be a JSON object, got ${describeValue(root)}`);

  if (root.version !== undefined && root.version !== '1.0') invalid('version', `must be "1.0", got ${describeValue(root.version)}`);

  const contextIn = root.context ?? {};
  if (!isPlainObject(contextIn)) invalid('context', `must be an object, got ${describeValue(contextIn)}`);
  const eventType = contextIn.eventType ?? (root.response !== undefined ? 'viewer-response' : 'viewer-request');
  if (eventType !== 'viewer-request' && eventType !== 'viewer-response') {
    invalid('context.eventType', `must be "viewer-request" or "viewer-response", got ${describeValue(eventType)}`);
  }
  const context: CFContext = { eventType };
  for (const field of ['distributionDomainName', 'endpoint', 'distributionId', 'requestId'] as const) {
    const value = contextIn[field];
    if (value === undefined) continue;
    if (typeof value !== 'string') invalid(`context.${field}`, `must be a string, got ${describeValue(value)}`);
    context[field] = value;
  }

  const viewerIn = root.viewer ?? {};
  if (!isPlainObject(viewerIn)) invalid('viewer', `must be an object, got ${describeValue(viewerIn)}`);
  const ip = viewerIn.ip ?? DEFAULT_TEST_VIEWER_IP;
  if (typeof ip !== 'string') invalid('viewer.ip', `must be a string, got ${describeValue(ip)}`);

  const event: CFEvent = { version: '1.0', context, viewer: { ip }, request: normalizeRequest(root.request) };
  if (eventType === 'viewer-response') {
    if (root.response === undefined) invalid('response', 'is required in a viewer-response event');
    event.response = normalizeResponse(root.response);
  }
  return event;
}

/** TestResult FunctionOutput JSON text ({"request":…} or {"response":…}) normalised as CloudFront prints it. */
export function functionOutputJson(kind: 'request' | 'response', value: CFRequest | CFResponse): string {
  if (kind === 'request') {
    const request = value as CFRequest;
    // A string querystring (AWS's normalize sample) is printed the way the edge will read it: as parameters.
    const querystring = typeof request.querystring === 'string' ? parseQueryString(serializeQueryString(request.querystring)) : request.querystring;
    return JSON.stringify({
      request: { method: request.method, uri: request.uri, querystring, headers: request.headers ?? {}, cookies: request.cookies ?? {} },
    });
  }
  const response = value as CFResponse;
  // Key order follows AWS's own TestFunction output; CloudFront adds `cookies: {}` to generated responses.
  return JSON.stringify({
    response: {
      headers: response.headers ?? {},
      statusDescription: response.statusDescription,
      cookies: response.cookies ?? {},
      statusCode: response.statusCode,
      body: response.body,
    },
  });
}

function parseInput(input: unknown): unknown {
  const text = input instanceof Uint8Array ? Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('utf8') : input;
  if (typeof text !== 'string') return text;
  const trimmed = text.replace(/^\uFEFF/, '').trim();
  if (trimmed === '') invalid('event', 'is empty');
  try {
    return JSON.parse(trimmed);
  } catch (err) {
    invalid('event', `is not valid JSON: ${(err as Error).message}`);
  }
}

function normalizeRequest(value: unknown): CFRequest {
  if (value === undefined) invalid('request', 'is required');
  if (!isPlainObject(value)) invalid('request', `must be an object, got ${describeValue(value)}`);
  const { method, uri } = value;
  if (typeof method !== 'string' || method === '') invalid('request.method', `must be a non-empty string, got ${describeValue(method)}`);
  if (typeof uri !== 'string' || !uri.startsWith('/')) invalid('request.uri', `must be a string starting with "/", got ${describeValue(uri)}`);
  const querystring =
    typeof value.querystring === 'string'
      ? parseQueryString(serializeQueryString(value.querystring))
      : valueMap('request.querystring', value.querystring, false);
  return {
    method,
    uri,
    querystring,
    headers: valueMap('request.headers', value.headers, true),
    cookies: valueMap('request.cookies', value.cookies, false),
  };
}

function normalizeResponse(value: unknown): CFResponse {
  if (!isPlainObject(value)) invalid('response', `must be an object, got ${describeValue(value)}`);
  const { statusCode, statusDescription } = value;
  if (typeof statusCode !== 'number' || !Number.isInteger(statusCode)) {
    invalid('response.statusCode', `must be an integer, got ${describeValue(statusCode)}`);
  }
  const response: CFResponse = { statusCode };
  if (statusDescription !== undefined) {
    if (typeof statusDescription !== 'string') invalid('response.statusDescription', `must be a string, got ${describeValue(statusDescription)}`);
    response.statusDescription = statusDescription;
  }
  response.headers = valueMap('response.headers', value.headers, true);
  response.cookies = setCookieMap(value.cookies);
  return response;
}

interface RawItem {
  value: string;
  attributes?: string;
}

interface RawEntry extends RawItem {
  multiValue?: RawItem[];
}

/** Reads `{value, attributes?, multiValue | multivalue}` as written (an empty multiValue counts as none). */
function readEntry(path: string, raw: unknown, withAttributes: boolean): RawEntry {
  const entry: RawEntry = readItem(path, raw, withAttributes);
  const record = raw as Record<string, unknown>;
  const spelling = record.multiValue !== undefined ? 'multiValue' : 'multivalue';
  const multi = record[spelling];
  if (multi === undefined) return entry;
  if (!Array.isArray(multi)) invalid(`${path}.${spelling}`, `must be an array, got ${describeValue(multi)}`);
  if (multi.length > 0) entry.multiValue = multi.map((item: unknown, i) => readItem(`${path}.${spelling}[${i}]`, item, withAttributes));
  return entry;
}

function readItem(path: string, raw: unknown, withAttributes: boolean): RawItem {
  if (!isPlainObject(raw)) invalid(path, `must be an object like {"value": "..."}, got ${describeValue(raw)}`);
  if (typeof raw.value !== 'string') invalid(`${path}.value`, `must be a string, got ${describeValue(raw.value)}`);
  const item: RawItem = { value: raw.value };
  if (withAttributes && raw.attributes !== undefined) {
    if (typeof raw.attributes !== 'string') invalid(`${path}.attributes`, `must be a string, got ${describeValue(raw.attributes)}`);
    item.attributes = raw.attributes;
  }
  return item;
}

function valueMap(path: string, value: unknown, lowercaseNames: boolean): CFValueMap {
  return entryMap(path, value, lowercaseNames, false);
}

function setCookieMap(value: unknown): Record<string, CFSetCookie> {
  return entryMap('response.cookies', value, false, true);
}

function entryMap(path: string, value: unknown, lowercaseNames: boolean, withAttributes: boolean): Record<string, RawEntry> {
  if (value === undefined) return {};
  if (!isPlainObject(value)) invalid(path, `must be an object, got ${describeValue(value)}`);
  const map: Record<string, RawEntry> = {};
  for (const [name, raw] of Object.entries(value)) {
    const at = `${path}${keyPath(name)}`;
    if (lowercaseNames && name !== name.toLowerCase()) invalid(at, `header names must be lowercase (use ${JSON.stringify(name.toLowerCase())})`);
    // defineProperty: a name literally `__proto__` must become data, not a prototype.
    Object.defineProperty(map, name, { value: readEntry(at, raw, withAttributes), enumerable: true, writable: true, configurable: true });
  }
  return map;
}

function invalid(path: string, problem: string): never {
  throw new OpenFrontError('EVENT_INVALID', `Invalid test event: ${path} ${problem}`, { path });
}
