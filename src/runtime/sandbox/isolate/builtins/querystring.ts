/**
 * The `querystring` module with Node's semantics: escape/unescape, parse/decode (sep, eq, maxKeys with 1000 default
 * and 0 = unlimited, custom decodeURIComponent, '+' as space, repeated keys collected in arrays, malformed UTF-8
 * escapes decoded to U+FFFD) and stringify/encode (arrays expand to repeated keys).
 *
 * Deliberate differences: parse returns an ordinary object, as CloudFront's engine does, rather than Node's
 * null-prototype object (keys such as "__proto__" or "toString" are still stored as own data properties); and
 * when unescape falls back from decodeURIComponent, unescaped non-ASCII characters keep their value where Node
 * truncates each to its low byte.
 */
import { hexDecode, utf8Decode, utf8Encode } from './bytes.js';

// Captured before user code runs, which may replace the globals.
const encodeURIComponentFn = encodeURIComponent,
  decodeURIComponentFn = decodeURIComponent;
const hasOwn = Object.prototype.hasOwnProperty,
  defineProperty = Object.defineProperty,
  reflectApply = Reflect.apply;
const objectKeys = Object.keys,
  isArray = Array.isArray;
const ENCODED_BYTE = /%[0-9a-fA-F]{2}/;
const HEX_PAIR = /^[0-9a-fA-F]{2}$/;

type Decode = (s: string) => string;
type Encode = (s: string) => string;
type ParsedQuery = Record<string, string | string[]>;

function escape(str: unknown): string {
  return encodeURIComponentFn(typeof str === 'string' ? str : String(str));
}

/** Percent-decodes to bytes (leaving invalid escapes as they are), then decodes those bytes as UTF-8. */
function unescapeBytes(s: string, decodeSpaces: boolean): string {
  let bin = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s.charAt(i);
    if (ch === '+' && decodeSpaces) {
      bin += ' ';
    } else if (ch === '%' && HEX_PAIR.test(s.slice(i + 1, i + 3))) {
      bin += hexDecode(s.slice(i + 1, i + 3));
      i += 2;
    } else {
      bin += utf8Encode(ch);
    }
  }
  return utf8Decode(bin, false) as string;
}

function unescape(s: string, decodeSpaces?: boolean): string {
  try {
    return decodeURIComponentFn(s);
  } catch {
    return unescapeBytes(String(s), !!decodeSpaces);
  }
}

function decodeComponent(s: string, decode: Decode, custom: boolean): string {
  if (s.length === 0 || (!custom && !ENCODED_BYTE.test(s))) return s;
  try {
    return decode(s);
  } catch {
    return unescape(s, true);
  }
}

function addValue(obj: ParsedQuery, key: string, value: string): void {
  if (!reflectApply(hasOwn, obj, [key])) {
    // defineProperty, not assignment: a key named "__proto__" must become an own data property.
    defineProperty(obj, key, { value: value, writable: true, enumerable: true, configurable: true });
  } else {
    const existing = obj[key] as string | string[];
    if (isArray(existing)) existing.push(value);
    else obj[key] = [existing, value];
  }
}

function parse(qs: unknown, sep?: unknown, eq?: unknown, options?: { maxKeys?: unknown; decodeURIComponent?: unknown }): ParsedQuery {
  const obj: ParsedQuery = {};
  if (typeof qs !== 'string' || qs.length === 0) return obj;
  const separator = sep ? String(sep) : '&';
  const equals = eq ? String(eq) : '=';
  let pairs = 1000;
  if (options && typeof options.maxKeys === 'number') pairs = options.maxKeys > 0 ? options.maxKeys : -1;
  let decode: Decode = unescape;
  if (options && typeof options.decodeURIComponent === 'function') decode = options.decodeURIComponent as Decode;
  const custom = decode !== unescape;
  const plus = custom ? '%20' : ' ';

  const segments = qs.split(separator);
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as string;
    // Empty segments add nothing but, as in Node, still count against maxKeys.
    if (segment.length > 0) {
      const at = segment.indexOf(equals);
      const key = (at < 0 ? segment : segment.slice(0, at)).split('+').join(plus);
      const value = (at < 0 ? '' : segment.slice(at + equals.length)).split('+').join(plus);
      addValue(obj, decodeComponent(key, decode, custom), decodeComponent(value, decode, custom));
    }
    if (--pairs === 0) break;
  }
  return obj;
}

function stringifyPrimitive(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && isFinite(v)) return '' + v;
  if (typeof v === 'bigint') return '' + v;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return '';
}

function stringify(obj: unknown, sep?: unknown, eq?: unknown, options?: { encodeURIComponent?: unknown }): string {
  // `||`, not `??`, and no String(): Node joins with whatever truthy value it was given.
  const separator = (sep || '&') as string;
  const equals = (eq || '=') as string;
  let encode: Encode = escape;
  if (options && typeof options.encodeURIComponent === 'function') encode = options.encodeURIComponent as Encode;
  if (obj === null || typeof obj !== 'object') return '';
  const record = obj as Record<string, unknown>;
  const fields: string[] = [];
  const keys = objectKeys(record);
  for (let i = 0; i < keys.length; i++) {
    const prefix = encode(keys[i] as string) + equals;
    const v = record[keys[i] as string];
    if (isArray(v)) {
      for (let j = 0; j < v.length; j++) fields.push(prefix + encode(stringifyPrimitive(v[j])));
    } else {
      fields.push(prefix + encode(stringifyPrimitive(v)));
    }
  }
  return fields.join(separator);
}

/** A fresh module object per prelude call; parse/decode and stringify/encode are the same functions, as in Node. */
export function createQuerystringModule(): Record<string, unknown> {
  return { escape: escape, unescape: unescape, parse: parse, decode: parse, stringify: stringify, encode: stringify };
}
