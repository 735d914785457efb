/**
 * A compact wire form for the event that crosses into the isolate on every invocation.
 *
 * JSON.stringify on the host plus JSON.parse in the isolate cost ~2.2 µs for a typical viewer-request event; the
 * event has a fixed schema, so a flat separator-joined string that the isolate splits and rebuilds costs ~0.8 µs.
 * The decoded object must be indistinguishable from JSON.parse(JSON.stringify(event)) — same keys, same order —
 * so anything outside the canonical shape (unknown keys, other key orders, a string querystring, a body, a string
 * containing a separator) is sent as JSON instead. isolate/decode-event.ts is the isolate side.
 */
import { OpenFrontError } from '../../errors.js';
import type { CFEvent, CFSetCookie } from '../event.js';
import { ABSENT, FIELD, ITEM } from './isolate-contract.js';

const MARKER = 'E1';

const CONTEXT_KEYS = new Set(['distributionDomainName', 'endpoint', 'distributionId', 'eventType', 'requestId']);
const NO_OPTIONAL: ReadonlySet<string> = new Set();
const TOP_KEYS = ['version', 'context', 'viewer', 'request', 'response'] as const;
const TOP_OPTIONAL: ReadonlySet<string> = new Set(['response']);
const REQUEST_KEYS = ['method', 'uri', 'querystring', 'headers', 'cookies'] as const;
const RESPONSE_KEYS = ['statusCode', 'statusDescription', 'headers', 'cookies'] as const;
const RESPONSE_OPTIONAL: ReadonlySet<string> = new Set(['statusDescription', 'headers', 'cookies']);

/**
 * Thrown inside the encoder when the event leaves the canonical shape; the caller falls back to JSON. One instance,
 * made once: the fallback is control flow, so it costs no stack capture per event.
 */
const NOT_CANONICAL = new OpenFrontError('INTERNAL', 'the event is not in the canonical shape');

/** The string itself; not canonical when it is not a string or holds a separator (a loop: cheaper than a regex). */
function text(value: unknown): string {
  if (typeof value !== 'string') throw NOT_CANONICAL;
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) < 4) throw NOT_CANONICAL;
  return value;
}

function keysAre(object: object, expected: readonly string[], optional: ReadonlySet<string>): void {
  let i = 0;
  for (const key in object) {
    while (i < expected.length && key !== expected[i] && optional.has(expected[i] as string)) i++;
    if (key !== expected[i]) throw NOT_CANONICAL;
    i++;
  }
  for (; i < expected.length; i++) if (!optional.has(expected[i] as string)) throw NOT_CANONICAL;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.getPrototypeOf(value) === Object.prototype;
}

/** `{value}` or `{value, multiValue}` (and `attributes` after `value` when allowed), nothing else, in that order. */
function entryKeysAre(entry: object, withAttributes: boolean): void {
  let state = 0;
  for (const key in entry) {
    if (state === 0 && key === 'value') state = 1;
    else if (withAttributes && state === 1 && key === 'attributes') state = 2;
    else if (state >= 1 && state < 3 && key === 'multiValue') state = 3;
    else throw NOT_CANONICAL;
  }
  if (state === 0) throw NOT_CANONICAL;
}

/** A multiValue item: `{value}` or `{value, attributes}` when allowed. */
function itemKeysAre(item: object, withAttributes: boolean): void {
  let state = 0;
  for (const key in item) {
    if (state === 0 && key === 'value') state = 1;
    else if (withAttributes && state === 1 && key === 'attributes') state = 2;
    else throw NOT_CANONICAL;
  }
  if (state === 0) throw NOT_CANONICAL;
}

/** name I value [I attributes] I (ABSENT | count (I value [I attributes])…) … */
function encodeMap(map: unknown, withAttributes: boolean): string {
  if (!isObject(map)) throw NOT_CANONICAL;
  let out = '';
  let first = true;
  for (const name in map) {
    const entry = map[name] as CFSetCookie;
    if (!isObject(entry)) throw NOT_CANONICAL;
    entryKeysAre(entry, withAttributes);
    out += (first ? '' : ITEM) + text(name) + ITEM + text(entry.value);
    first = false;
    if (withAttributes) out += ITEM + (entry.attributes === undefined ? ABSENT : text(entry.attributes));
    const items = entry.multiValue;
    if (items === undefined) {
      out += ITEM + ABSENT;
      continue;
    }
    if (!Array.isArray(items)) throw NOT_CANONICAL;
    out += ITEM + items.length;
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if (!isObject(item)) throw NOT_CANONICAL;
      itemKeysAre(item, withAttributes);
      out += ITEM + text(item.value);
      if (withAttributes) out += ITEM + (item.attributes === undefined ? ABSENT : text(item.attributes));
    }
  }
  return out;
}

/** The compact form, or the JSON text when the event is not in the canonical shape. */
export function encodeEvent(event: CFEvent): string {
  try {
    return encodeCanonical(event);
  } catch (err) {
    if (err === NOT_CANONICAL) return JSON.stringify(event);
    throw err;
  }
}

function encodeCanonical(event: CFEvent): string {
  if (!isObject(event)) throw NOT_CANONICAL;
  keysAre(event, TOP_KEYS, TOP_OPTIONAL);
  const { context, viewer, request, response } = event;
  if (!isObject(context) || !isObject(viewer) || !isObject(request)) throw NOT_CANONICAL;
  let contextPairs = '';
  for (const key in context) {
    if (!CONTEXT_KEYS.has(key)) throw NOT_CANONICAL;
    contextPairs += (contextPairs === '' ? '' : ITEM) + key + ITEM + text((context as Record<string, unknown>)[key]);
  }
  keysAre(viewer, ['ip'], NO_OPTIONAL);
  keysAre(request, REQUEST_KEYS, NO_OPTIONAL);
  let wire =
    MARKER +
    FIELD +
    text(event.version) +
    FIELD +
    contextPairs +
    FIELD +
    text(viewer.ip) +
    FIELD +
    text(request.method) +
    FIELD +
    text(request.uri) +
    FIELD +
    encodeMap(request.querystring, false) +
    FIELD +
    encodeMap(request.headers, false) +
    FIELD +
    encodeMap(request.cookies, false);
  if (response !== undefined) {
    if (!isObject(response)) throw NOT_CANONICAL;
    keysAre(response, RESPONSE_KEYS, RESPONSE_OPTIONAL);
    if (typeof response.statusCode !== 'number' || !Number.isSafeInteger(response.statusCode)) throw NOT_CANONICAL;
    wire +=
      FIELD +
      response.statusCode +
      FIELD +
      (response.statusDescription === undefined ? ABSENT : text(response.statusDescription)) +
      FIELD +
      (response.headers === undefined ? ABSENT : encodeMap(response.headers, false)) +
      FIELD +
      (response.cookies === undefined ? ABSENT : encodeMap(response.cookies, true));
  }
  return wire;
}
