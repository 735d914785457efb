/**
 * The web text globals of runtime 2.0: TextEncoder, TextDecoder (UTF-8 only, WHATWG semantics incl. `fatal`,
 * `ignoreBOM` and `{ stream: true }`), atob and btoa (forgiving-base64, throwing like browsers). A bare V8 isolate
 * has none of these, so they are built here on the byte codecs; prelude-2.ts installs them on globalThis.
 */
import { base64Decode, base64Encode, binaryToUint8Array, codesToString, utf8DecodeSplit, utf8Encode, viewToBinary } from './bytes.js';

const UTF8_LABELS = ['utf-8', 'utf8', 'unicode-1-1-utf-8', 'unicode11utf8', 'unicode20utf8', 'x-unicode20utf8'];
const isView = ArrayBuffer.isView;

function inputToBinary(input: unknown): string {
  if (input === undefined) return '';
  if (input instanceof ArrayBuffer) return codesToString(new Uint8Array(input));
  if (isView(input)) return viewToBinary(input);
  throw new TypeError('The "input" argument must be an instance of ArrayBuffer or ArrayBufferView');
}

export class TextEncoder {
  get encoding(): string {
    return 'utf-8';
  }

  encode(input?: unknown): Uint8Array {
    return binaryToUint8Array(utf8Encode(input === undefined ? '' : String(input)));
  }

  encodeInto(src: unknown, dest: unknown): { read: number; written: number } {
    if (!(dest instanceof Uint8Array)) throw new TypeError('The "dest" argument must be an instance of Uint8Array');
    const str = String(src),
      room = dest.length;
    let read = 0,
      written = 0;
    while (read < str.length) {
      let c = str.charCodeAt(read),
        units = 1;
      if (c >= 0xd800 && c <= 0xdfff) {
        const next = read + 1 < str.length ? str.charCodeAt(read + 1) : 0;
        if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
          units = 2;
        } else {
          c = 0xfffd;
        }
      }
      const size = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
      // Only whole characters are written: one that does not fit ends the encoding.
      if (written + size > room) break;
      if (size === 1) {
        dest[written] = c;
      } else if (size === 2) {
        dest[written] = 0xc0 | (c >> 6);
        dest[written + 1] = 0x80 | (c & 0x3f);
      } else if (size === 3) {
        dest[written] = 0xe0 | (c >> 12);
        dest[written + 1] = 0x80 | ((c >> 6) & 0x3f);
        dest[written + 2] = 0x80 | (c & 0x3f);
      } else {
        dest[written] = 0xf0 | (c >> 18);
        dest[written + 1] = 0x80 | ((c >> 12) & 0x3f);
        dest[written + 2] = 0x80 | ((c >> 6) & 0x3f);
        dest[written + 3] = 0x80 | (c & 0x3f);
      }
      written += size;
      read += units;
    }
    return { read: read, written: written };
  }
}

export class TextDecoder {
  #fatal: boolean;
  #ignoreBOM: boolean;
  /** Bytes of a character cut at the end of the last streamed chunk. */
  #pending = '';
  #bomDone = false;

  constructor(label?: unknown, options?: { fatal?: unknown; ignoreBOM?: unknown }) {
    const name = label === undefined ? 'utf-8' : String(label).trim().toLowerCase();
    // Concatenated, not String(label): the label converts as the + operator does (a Symbol throws a TypeError).
    if (UTF8_LABELS.indexOf(name) < 0) throw new RangeError('The "' + (label as string) + '" encoding is not supported');
    this.#fatal = !!(options && options.fatal);
    this.#ignoreBOM = !!(options && options.ignoreBOM);
  }

  get encoding(): string {
    return 'utf-8';
  }

  get fatal(): boolean {
    return this.#fatal;
  }

  get ignoreBOM(): boolean {
    return this.#ignoreBOM;
  }

  decode(input?: unknown, options?: { stream?: unknown }): string {
    const stream = !!(options && options.stream);
    const bin = this.#pending + inputToBinary(input);
    const split = utf8DecodeSplit(bin, this.#fatal, stream);
    let text = split[0];
    this.#pending = stream && text !== null ? bin.slice(split[1]) : '';
    if (text === null) {
      this.#bomDone = false;
      throw new TypeError('The encoded data was not valid for encoding utf-8');
    }
    if (!this.#ignoreBOM && !this.#bomDone && text.length > 0) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      this.#bomDone = true;
    }
    if (!stream) this.#bomDone = false;
    return text;
  }
}

/** Browsers throw a DOMException named InvalidCharacterError (legacy code 5); a bare isolate has no DOMException. */
function invalidCharacterError(message: string): Error {
  const error = new Error(message) as Error & { code: number };
  error.name = 'InvalidCharacterError';
  error.code = 5;
  return error;
}

// `arguments` rather than a rest parameter: atob.length and btoa.length stay 1, as in browsers.
export function atob(data: unknown): string {
  if (arguments.length === 0) throw new TypeError('The "data" argument must be specified');
  let s = String(data).replace(/[\t\n\f\r ]/g, '');
  if (s.length % 4 === 0) s = s.replace(/==?$/, '');
  if (s.length % 4 === 1 || /[^A-Za-z0-9+/]/.test(s)) {
    throw invalidCharacterError('The string to be decoded is not correctly encoded.');
  }
  return base64Decode(s);
}

export function btoa(data: unknown): string {
  if (arguments.length === 0) throw new TypeError('The "data" argument must be specified');
  const s = String(data);

  if (/[^\x00-\xff]/.test(s)) throw invalidCharacterError('Invalid character');
  return base64Encode(s, false);
}
