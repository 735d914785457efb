/**
 * The non-standard byte-string methods of runtime 1.0 (njs): String.bytesFrom (also reachable as
 * String.prototype.bytesFrom, since the docs and the engine disagree on its placement) and
 * String.prototype.fromBytes / fromUTF8 / toBytes / toUTF8.
 *
 * njs keeps a hidden "byte string" flag on strings; V8 strings cannot carry one. We approximate it with a small
 * bounded set of the non-ASCII byte strings the runtime produced (from these methods and from 1.0's digest()),
 * so that such a string fed back into crypto (e.g. an HMAC key chain) is hashed as its bytes, not UTF-8 encoded.
 * ASCII strings are the same either way and are never tracked.
 */
import { base64Decode, codesToString, hexDecode, isAscii, utf8Decode, utf8Encode } from './bytes.js';

const MAX_TRACKED = 64;
const isArray = Array.isArray,
  isView = ArrayBuffer.isView,
  defineProperty = Object.defineProperty;

const NOT_LATIN1 = /[^\x00-\xff]/;

let tracked: Record<string, true> = Object.create(null);
let trackedCount = 0;

/** Remembers s as a byte string (when it is not ASCII) and returns it. */
export function mark(s: string): string {
  if (!isAscii(s) && tracked[s] !== true) {
    // Bounded: the set starts over rather than grow with every byte string a function makes.
    if (trackedCount >= MAX_TRACKED) {
      tracked = Object.create(null);
      trackedCount = 0;
    }
    tracked[s] = true;
    trackedCount++;
  }
  return s;
}

export function isByteString(s: string): boolean {
  return isAscii(s) || tracked[s] === true;
}

/** The bytes njs would see: a byte string's own chars, otherwise the UTF-8 encoding of the text. */
function bytesOf(s: string): string {
  return isByteString(s) ? s : utf8Encode(s);
}

function bytesFrom(value: unknown, encoding: unknown): string {
  if (isArray(value) || isView(value)) {
    const items = value as ArrayLike<unknown>;
    const codes: number[] = [];
    for (let i = 0; i < items.length; i++) codes.push(Number(items[i]) & 0xff);
    return mark(codesToString(codes));
  }
  const str = String(value);
  switch (encoding) {
    case 'hex':
      return mark(hexDecode(str));
    case 'base64':
    case 'base64url':
      return mark(base64Decode(str));
    default:
      throw new TypeError('Unknown encoding: "' + (encoding as string) + '"');
  }
}

/** Function expressions (not methods): their names and constructibility stay what user code saw before. */
const methods: Record<string, (this: unknown, ...args: never[]) => unknown> = {
  bytesFrom: bytesFrom,
  fromBytes: function (start?: number, end?: number) {
    return bytesOf(String(this)).slice(start, end);
  },
  fromUTF8: function (start?: number, end?: number) {
    return utf8Decode(bytesOf(String(this)).slice(start, end), true);
  },
  toBytes: function (start?: number, end?: number) {
    const s = String(this).slice(start, end);
    return NOT_LATIN1.test(s) ? null : mark(s);
  },
  toUTF8: function (start?: number, end?: number) {
    const s = String(this);
    return mark(isByteString(s) ? s.slice(start, end) : utf8Encode(s.slice(start, end)));
  },
};

function install(target: object, name: string, fn: unknown): void {
  defineProperty(target, name, { value: fn, writable: true, enumerable: false, configurable: true });
}

/** Adds the methods to String and String.prototype, as njs has them. */
export function installByteStringMethods(): void {
  install(String, 'bytesFrom', bytesFrom);
  for (const name in methods) install(String.prototype, name, methods[name]);
}
