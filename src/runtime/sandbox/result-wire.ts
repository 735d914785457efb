/**
 * A compact wire form for what a handler returns, the other half of event-wire.ts.
 *
 * The host validates the returned object (validate.ts) and uses only its known fields; JSON.parse of a ~300-byte
 * request on the host costs ~1.4 µs, splitting this form ~0.3 µs. The isolate encodes only values whose known
 * fields have exactly the types validation accepts, so that validating the decoded object gives exactly what
 * validating JSON.parse(JSON.stringify(value)) gives; anything else (toJSON, a non-string value, a body object,
 * a separator character…) goes as JSON and is judged there. Unknown keys are left out of both: validation never
 * reads them.
 */
import type { CFSetCookie, CFValueMap } from '../event.js';

/**
 * Isolate side, ES5, inside the bootstrap closure (uses `objectKeys`, `isArray`). `encodeResult(value)` returns
 * the compact form, or '' when the value must go as JSON.
 */
export const ENCODE_RESULT_SOURCE = String.raw`function encodeResult(value) {
    var NO = {};
    function str(s) {
      if (typeof s !== 'string') throw NO;
      for (var i = 0; i < s.length; i++) if (s.charCodeAt(i) < 4) throw NO;
      return s;
    }
    function plain(o) {
      if (o === null || typeof o !== 'object' || isArray(o) || typeof o.toJSON === 'function') throw NO;
      return o;
    }
    function dropped(v) { return v === undefined || typeof v === 'function' || typeof v === 'symbol'; }
    function map(m, withAttributes) {
      plain(m);
      var keys = objectKeys(m), out = '', first = true;
      for (var k = 0; k < keys.length; k++) {
        var entry = m[keys[k]];
        if (dropped(entry)) continue;
        plain(entry);
        out += (first ? '' : '\u0002') + str(keys[k]) + '\u0002' + str(entry.value);
        first = false;
        if (withAttributes) out += '\u0002' + (dropped(entry.attributes) ? '\u0003' : str(entry.attributes));
        var items = entry.multiValue;
        if (dropped(items)) { out += '\u0002\u0003'; continue; }
        if (!isArray(items) || typeof items.toJSON === 'function') throw NO;
        out += '\u0002' + items.length;
        for (var i = 0; i < items.length; i++) {
          var item = plain(items[i]);
          out += '\u0002' + str(item.value);
          if (withAttributes) out += '\u0002' + (dropped(item.attributes) ? '\u0003' : str(item.attributes));
        }
      }
      return out;
    }
    try {
      plain(value);
      var statusCode = value.statusCode;
      if (statusCode !== undefined) {
        // Finite numbers only: JSON turns NaN and Infinity into null, which validation reports differently.
        if (typeof statusCode !== 'number' || statusCode - statusCode !== 0) throw NO;
        var body = value.body;
        return 'S\u0001' + statusCode +
          '\u0001' + (dropped(value.statusDescription) ? '\u0003' : str(value.statusDescription)) +
          '\u0001' + (dropped(value.headers) ? '\u0003' : map(value.headers, false)) +
          '\u0001' + (dropped(value.cookies) ? '\u0003' : map(value.cookies, true)) +
          '\u0001' + (dropped(body) ? '\u0003' : str(body));
      }
      var qs = value.querystring;
      return 'R\u0001' + str(value.method) + '\u0001' + str(value.uri) +
        '\u0001' + (typeof qs === 'string' ? 's' + str(qs) : 'm' + map(qs, false)) +
        '\u0001' + map(value.headers, false) + '\u0001' + map(value.cookies, false);
    } catch (e) {
      if (e === NO) return '';
      throw e;
    }
  }`;

const FIELD = '\u0001';
const ITEM = '\u0002';
const ABSENT = '\u0003';

function define(map: Record<string, unknown>, name: string, value: unknown): void {
  if (name === '__proto__') Object.defineProperty(map, name, { value, enumerable: true, writable: true, configurable: true });
  else map[name] = value;
}

function decodeMap(part: string, withAttributes: boolean): CFValueMap | Record<string, CFSetCookie> {
  const map: Record<string, CFSetCookie> = {};
  if (part === '') return map;
  const items = part.split(ITEM);
  for (let i = 0; i < items.length; ) {
    const name = items[i] as string;
    const entry: CFSetCookie = { value: items[i + 1] as string };
    i += 2;
    if (withAttributes) {
      const attributes = items[i++] as string;
      if (attributes !== ABSENT) entry.attributes = attributes;
    }
    const count = items[i++] as string;
    if (count !== ABSENT) {
      const n = Number(count);
      const multiValue: Array<{ value: string; attributes?: string }> = new Array(n);
      for (let j = 0; j < n; j++) {
        const item: { value: string; attributes?: string } = { value: items[i++] as string };
        if (withAttributes) {
          const attributes = items[i++] as string;
          if (attributes !== ABSENT) item.attributes = attributes;
        }
        multiValue[j] = item;
      }
      entry.multiValue = multiValue;
    }
    define(map, name, entry);
  }
  return map;
}

/** Host side: the object the isolate encoded (only the fields validation reads). */
export function decodeResult(wire: string): Record<string, unknown> {
  const f = wire.split(FIELD);
  if (f[0] === 'S') {
    const response: Record<string, unknown> = { statusCode: Number(f[1]) };
    if (f[2] !== ABSENT) response.statusDescription = f[2];
    if (f[3] !== ABSENT) response.headers = decodeMap(f[3] as string, false);
    if (f[4] !== ABSENT) response.cookies = decodeMap(f[4] as string, true);
    if (f[5] !== ABSENT) response.body = f[5];
    return response;
  }
  const qs = f[3] as string;
  return {
    method: f[1],
    uri: f[2],
    querystring: qs.charCodeAt(0) === 115 /* s */ ? qs.slice(1) : decodeMap(qs.slice(1), false),
    headers: decodeMap(f[4] as string, false),
    cookies: decodeMap(f[5] as string, false),
  };
}
