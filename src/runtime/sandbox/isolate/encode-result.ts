/**
 * The isolate side of result-wire.ts: the compact form of what a handler returned, or '' when the value must go
 * as JSON. Only values whose known fields have exactly the types validation accepts are encoded, so validating
 * the decoded object gives exactly what validating JSON.parse(JSON.stringify(value)) gives; anything else (toJSON,
 * a non-string value, a body object, a separator character…) goes as JSON and is judged on the host. Unknown keys
 * are left out: validation never reads them.
 */
import { ABSENT, FIELD, ITEM } from '../isolate-contract.js';

const objectKeys = Object.keys,
  isArray = Array.isArray;

/** Thrown (and caught below) when the value leaves the encodable shape. */
const NO = {};

/**
 * Up to this length a loop finds a separator fastest; past it, V8's native search does. (A 1 MB body scanned by the
 * loop took 30–80 ms on a cold isolate, enough to be killed before validation could refuse the body.)
 */
const LOOP_SCAN_MAX = 64;

/** The string itself; not encodable when it is not a string or holds a separator (any character below 4). */
function str(s: unknown): string {
  if (typeof s !== 'string') throw NO;
  if (s.length > LOOP_SCAN_MAX) {
    if (s.indexOf('\u0000') !== -1 || s.indexOf(FIELD) !== -1 || s.indexOf(ITEM) !== -1 || s.indexOf(ABSENT) !== -1) throw NO;
    return s;
  }
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) < 4) throw NO;
  return s;
}

/** A plain object JSON would serialise field by field (no array, no toJSON). */
function plain(o: unknown): Record<string, unknown> {
  if (o === null || typeof o !== 'object' || isArray(o) || typeof (o as { toJSON?: unknown }).toJSON === 'function') throw NO;
  return o as Record<string, unknown>;
}

/** Fields JSON leaves out. */
function dropped(v: unknown): boolean {
  return v === undefined || typeof v === 'function' || typeof v === 'symbol';
}

/** name I value [I attributes] I (ABSENT | count (I value [I attributes])…) … — event-wire.ts's map form. */
function map(m: unknown, withAttributes: boolean): string {
  const record = plain(m);
  const keys = objectKeys(record);
  let out = '',
    first = true;
  for (let k = 0; k < keys.length; k++) {
    const raw = record[keys[k] as string];
    if (dropped(raw)) continue;
    const entry = plain(raw);
    out += (first ? '' : ITEM) + str(keys[k]) + ITEM + str(entry.value);
    first = false;
    if (withAttributes) out += ITEM + (dropped(entry.attributes) ? ABSENT : str(entry.attributes));
    const items = entry.multiValue;
    if (dropped(items)) {
      out += ITEM + ABSENT;
      continue;
    }
    if (!isArray(items) || typeof (items as { toJSON?: unknown }).toJSON === 'function') throw NO;
    out += ITEM + items.length;
    for (let i = 0; i < items.length; i++) {
      const item = plain(items[i]);
      out += ITEM + str(item.value);
      if (withAttributes) out += ITEM + (dropped(item.attributes) ? ABSENT : str(item.attributes));
    }
  }
  return out;
}

export function encodeResult(value: unknown): string {
  try {
    const result = plain(value);
    const statusCode = result.statusCode;
    if (statusCode !== undefined) {
      // Finite numbers only: JSON turns NaN and Infinity into null, which validation reports differently.
      if (typeof statusCode !== 'number' || statusCode - statusCode !== 0) throw NO;
      const body = result.body;
      return (
        'S' +
        FIELD +
        statusCode +
        FIELD +
        (dropped(result.statusDescription) ? ABSENT : str(result.statusDescription)) +
        FIELD +
        (dropped(result.headers) ? ABSENT : map(result.headers, false)) +
        FIELD +
        (dropped(result.cookies) ? ABSENT : map(result.cookies, true)) +
        FIELD +
        (dropped(body) ? ABSENT : str(body))
      );
    }
    const qs = result.querystring;
    return (
      'R' +
      FIELD +
      str(result.method) +
      FIELD +
      str(result.uri) +
      FIELD +
      (typeof qs === 'string' ? 's' + str(qs) : 'm' + map(qs, false)) +
      FIELD +
      map(result.headers, false) +
      FIELD +
      map(result.cookies, false)
    );
  } catch (e) {
    if (e === NO) return '';
    throw e;
  }
}
