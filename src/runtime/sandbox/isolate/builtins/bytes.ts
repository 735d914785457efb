/**
 * Byte codecs shared by every built-in (crypto, TextEncoder/TextDecoder, atob/btoa, the 1.0 byte-string methods,
 * querystring's fallback decoder).
 *
 * Bytes travel as "binary strings" (one char per byte, 0–255): that is the form that crosses to the host for
 * digests and the form 1.0's byte strings have, so one representation avoids conversions on the hot paths.
 *
 * Intrinsics are captured when the bundle is evaluated, before user code runs: user code may replace globals such
 * as `String.fromCharCode`, and the bootstrap deletes `Reflect` afterwards.
 */
const fromCharCode = String.fromCharCode;
const reflectApply = Reflect.apply;

const ASCII_ONLY = /^[\x00-\x7f]*$/;
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const HEX = '0123456789abcdef';
/** Both alphabets decode, as in Node: '+' and '-' are 62, '/' and '_' are 63. */
const B64_VALUE: Record<string, number> = Object.create(null);
for (let i = 0; i < 64; i++) {
  B64_VALUE[B64.charAt(i)] = i;
  B64_VALUE[B64URL.charAt(i)] = i;
}

/** Char codes are applied in chunks: one call with a huge argument list would overflow the stack. */
const CHUNK = 8192;

export function codesToString(codes: ArrayLike<number> & { slice(start: number, end: number): ArrayLike<number> }): string {
  if (codes.length <= CHUNK) return reflectApply(fromCharCode, null, codes);
  let out = '';
  for (let start = 0; start < codes.length; start += CHUNK) {
    out += reflectApply(fromCharCode, null, codes.slice(start, start + CHUNK));
  }
  return out;
}

export function viewToBinary(view: ArrayBufferView): string {
  return codesToString(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
}

export function binaryToUint8Array(bin: string): Uint8Array {
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function isAscii(str: string): boolean {
  return ASCII_ONLY.test(str);
}

/** UTF-8 encodes str; lone surrogates become U+FFFD (EF BF BD), as in TextEncoder and Buffer. */
export function utf8Encode(str: string): string {
  if (ASCII_ONLY.test(str)) return str;
  const codes: number[] = [];
  for (let i = 0; i < str.length; i++) {
    let c = str.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < str.length ? str.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        i++;
      } else {
        c = 0xfffd;
      }
    }
    if (c < 0x80) codes.push(c);
    else if (c < 0x800) codes.push(0xc0 | (c >> 6), 0x80 | (c & 0x3f));
    else if (c < 0x10000) codes.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
    else codes.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 0x3f), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
  }
  return codesToString(codes);
}

/**
 * The WHATWG UTF-8 decoder over a binary string: each maximal invalid subpart becomes one U+FFFD, or, when
 * fatal, the result is null. With stopAtIncomplete, a truncated sequence at the very end is not decoded;
 * its start index is returned so a streaming caller can keep those bytes for the next chunk.
 * Returns [text | null, indexWhereUndecodedBytesStart].
 */
export function utf8DecodeSplit(bin: string, fatal: boolean, stopAtIncomplete: boolean): [string | null, number] {
  let codes: number[] = [];
  let out = '';
  let cp = 0,
    need = 0,
    seen = 0,
    lower = 0x80,
    upper = 0xbf,
    seqStart = 0;
  for (let i = 0; i < bin.length; i++) {
    const b = bin.charCodeAt(i);
    if (need === 0) {
      seqStart = i;
      if (b <= 0x7f) {
        codes.push(b);
      } else if (b >= 0xc2 && b <= 0xdf) {
        need = 1;
        cp = b & 0x1f;
      } else if (b >= 0xe0 && b <= 0xef) {
        if (b === 0xe0) lower = 0xa0;
        if (b === 0xed) upper = 0x9f;
        need = 2;
        cp = b & 0x0f;
      } else if (b >= 0xf0 && b <= 0xf4) {
        if (b === 0xf0) lower = 0x90;
        if (b === 0xf4) upper = 0x8f;
        need = 3;
        cp = b & 0x07;
      } else {
        if (fatal) return [null, i];
        codes.push(0xfffd);
      }
    } else if (b < lower || b > upper) {
      cp = need = seen = 0;
      lower = 0x80;
      upper = 0xbf;
      if (fatal) return [null, i];
      codes.push(0xfffd);
      // The byte that broke the sequence starts the next one.
      i--;
    } else {
      lower = 0x80;
      upper = 0xbf;
      cp = (cp << 6) | (b & 0x3f);
      if (++seen === need) {
        if (cp > 0xffff) codes.push(0xd800 + ((cp - 0x10000) >> 10), 0xdc00 + ((cp - 0x10000) & 0x3ff));
        else codes.push(cp);
        cp = need = seen = 0;
      }
    }
    if (codes.length >= CHUNK) {
      out += codesToString(codes);
      codes = [];
    }
  }
  if (need !== 0) {
    if (stopAtIncomplete) return [out + codesToString(codes), seqStart];
    if (fatal) return [null, seqStart];
    codes.push(0xfffd);
  }
  return [out + codesToString(codes), bin.length];
}

export function utf8Decode(bin: string, fatal: boolean): string | null {
  return utf8DecodeSplit(bin, fatal, false)[0];
}

export function hexEncode(bin: string): string {
  let out = '';
  for (let i = 0; i < bin.length; i++) {
    const b = bin.charCodeAt(i);
    out += HEX.charAt(b >> 4) + HEX.charAt(b & 15);
  }
  return out;
}

/** Decodes hex pairs up to the first invalid pair (Node's Buffer rule). */
export function hexDecode(str: string): string {
  const codes: number[] = [];
  for (let i = 0; i + 1 < str.length; i += 2) {
    const hi = HEX.indexOf(str.charAt(i).toLowerCase()),
      lo = HEX.indexOf(str.charAt(i + 1).toLowerCase());
    if (hi < 0 || lo < 0) break;
    codes.push(hi * 16 + lo);
  }
  return codesToString(codes);
}

export function base64Encode(bin: string, urlSafe: boolean): string {
  const alphabet = urlSafe ? B64URL : B64;
  let out = '',
    i = 0;
  for (; i + 2 < bin.length; i += 3) {
    const n = (bin.charCodeAt(i) << 16) | (bin.charCodeAt(i + 1) << 8) | bin.charCodeAt(i + 2);
    out += alphabet.charAt(n >> 18) + alphabet.charAt((n >> 12) & 63) + alphabet.charAt((n >> 6) & 63) + alphabet.charAt(n & 63);
  }
  const rest = bin.length - i;
  if (rest > 0) {
    const m = (bin.charCodeAt(i) << 16) | (rest === 2 ? bin.charCodeAt(i + 1) << 8 : 0);
    out += alphabet.charAt(m >> 18) + alphabet.charAt((m >> 12) & 63);
    if (rest === 2) out += alphabet.charAt((m >> 6) & 63);
    if (!urlSafe) out += rest === 2 ? '=' : '==';
  }
  return out;
}

/** Node's lenient decoding: both alphabets, stops at '=', skips other characters, ignores a lone last char. */
export function base64Decode(str: string): string {
  const codes: number[] = [];
  let acc = 0,
    bits = 0;
  for (let i = 0; i < str.length; i++) {
    const ch = str.charAt(i);
    if (ch === '=') break;
    const v = B64_VALUE[ch];
    if (v === undefined) continue;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      codes.push((acc >> bits) & 0xff);
    }
  }
  return codesToString(codes);
}
