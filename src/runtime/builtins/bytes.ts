/**
 * Isolate-side byte codecs shared by every built-in (crypto, TextEncoder/TextDecoder, atob/btoa, the 1.0
 * byte-string methods, querystring's fallback decoder).
 *
 * Bytes travel as "binary strings" (one char per byte, 0–255): that is the form that crosses to the host for
 * digests and the form 1.0's byte strings have, so one representation avoids conversions on the hot paths.
 *
 * The source is a function expression returning the kit. Intrinsics are captured here because user code runs
 * later and may replace globals such as `String.fromCharCode`.
 */
export const BYTES_FACTORY_SOURCE = String.raw`(function () {
  var fromCharCode = String.fromCharCode;
  var reflectApply = Reflect.apply;
  var ASCII_ONLY = /^[\x00-\x7f]*$/;
  var B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  var B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  var HEX = '0123456789abcdef';
  // Both alphabets decode, as in Node: '+' and '-' are 62, '/' and '_' are 63.
  var B64_VALUE = Object.create(null);
  for (var i = 0; i < 64; i++) { B64_VALUE[B64.charAt(i)] = i; B64_VALUE[B64URL.charAt(i)] = i; }

  function codesToString(codes) {
    if (codes.length <= 8192) return reflectApply(fromCharCode, null, codes);
    var out = '';
    for (var start = 0; start < codes.length; start += 8192) {
      out += reflectApply(fromCharCode, null, codes.slice(start, start + 8192));
    }
    return out;
  }

  function viewToBinary(view) {
    return codesToString(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
  }

  function binaryToUint8Array(bin) {
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  function isAscii(str) { return ASCII_ONLY.test(str); }

  /** UTF-8 encodes str; lone surrogates become U+FFFD (EF BF BD), as in TextEncoder and Buffer. */
  function utf8Encode(str) {
    if (ASCII_ONLY.test(str)) return str;
    var codes = [];
    for (var i = 0; i < str.length; i++) {
      var c = str.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdfff) {
        var next = i + 1 < str.length ? str.charCodeAt(i + 1) : 0;
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
  function utf8DecodeSplit(bin, fatal, stopAtIncomplete) {
    var codes = [], out = '';
    var cp = 0, need = 0, seen = 0, lower = 0x80, upper = 0xbf, seqStart = 0;
    for (var i = 0; i < bin.length; i++) {
      var b = bin.charCodeAt(i);
      if (need === 0) {
        seqStart = i;
        if (b <= 0x7f) { codes.push(b); }
        else if (b >= 0xc2 && b <= 0xdf) { need = 1; cp = b & 0x1f; }
        else if (b >= 0xe0 && b <= 0xef) {
          if (b === 0xe0) lower = 0xa0;
          if (b === 0xed) upper = 0x9f;
          need = 2; cp = b & 0x0f;
        } else if (b >= 0xf0 && b <= 0xf4) {
          if (b === 0xf0) lower = 0x90;
          if (b === 0xf4) upper = 0x8f;
          need = 3; cp = b & 0x07;
        } else {
          if (fatal) return [null, i];
          codes.push(0xfffd);
        }
      } else if (b < lower || b > upper) {
        cp = need = seen = 0; lower = 0x80; upper = 0xbf;
        if (fatal) return [null, i];
        codes.push(0xfffd);
        i--;
      } else {
        lower = 0x80; upper = 0xbf;
        cp = (cp << 6) | (b & 0x3f);
        if (++seen === need) {
          if (cp > 0xffff) codes.push(0xd800 + ((cp - 0x10000) >> 10), 0xdc00 + ((cp - 0x10000) & 0x3ff));
          else codes.push(cp);
          cp = need = seen = 0;
        }
      }
      if (codes.length >= 8192) { out += codesToString(codes); codes = []; }
    }
    if (need !== 0) {
      if (stopAtIncomplete) return [out + codesToString(codes), seqStart];
      if (fatal) return [null, seqStart];
      codes.push(0xfffd);
    }
    return [out + codesToString(codes), bin.length];
  }

  function utf8Decode(bin, fatal) { return utf8DecodeSplit(bin, fatal, false)[0]; }

  function hexEncode(bin) {
    var out = '';
    for (var i = 0; i < bin.length; i++) {
      var b = bin.charCodeAt(i);
      out += HEX.charAt(b >> 4) + HEX.charAt(b & 15);
    }
    return out;
  }

  /** Decodes hex pairs up to the first invalid pair (Node's Buffer rule). */
  function hexDecode(str) {
    var codes = [];
    for (var i = 0; i + 1 < str.length; i += 2) {
      var hi = HEX.indexOf(str.charAt(i).toLowerCase()), lo = HEX.indexOf(str.charAt(i + 1).toLowerCase());
      if (hi < 0 || lo < 0) break;
      codes.push(hi * 16 + lo);
    }
    return codesToString(codes);
  }

  function base64Encode(bin, urlSafe) {
    var alphabet = urlSafe ? B64URL : B64, out = '', i = 0;
    for (; i + 2 < bin.length; i += 3) {
      var n = (bin.charCodeAt(i) << 16) | (bin.charCodeAt(i + 1) << 8) | bin.charCodeAt(i + 2);
      out += alphabet.charAt(n >> 18) + alphabet.charAt((n >> 12) & 63) + alphabet.charAt((n >> 6) & 63) + alphabet.charAt(n & 63);
    }
    var rest = bin.length - i;
    if (rest > 0) {
      var m = (bin.charCodeAt(i) << 16) | (rest === 2 ? bin.charCodeAt(i + 1) << 8 : 0);
      out += alphabet.charAt(m >> 18) + alphabet.charAt((m >> 12) & 63);
      if (rest === 2) out += alphabet.charAt((m >> 6) & 63);
      if (!urlSafe) out += rest === 2 ? '=' : '==';
    }
    return out;
  }

  /** Node's lenient decoding: both alphabets, stops at '=', skips other characters, ignores a lone last char. */
  function base64Decode(str) {
    var codes = [], acc = 0, bits = 0;
    for (var i = 0; i < str.length; i++) {
      var ch = str.charAt(i);
      if (ch === '=') break;
      var v = B64_VALUE[ch];
      if (v === undefined) continue;
      acc = ((acc << 6) | v) & 0xffffff;
      bits += 6;
      if (bits >= 8) { bits -= 8; codes.push((acc >> bits) & 0xff); }
    }
    return codesToString(codes);
  }

  return {
    codesToString: codesToString, viewToBinary: viewToBinary, binaryToUint8Array: binaryToUint8Array,
    isAscii: isAscii, utf8Encode: utf8Encode, utf8Decode: utf8Decode, utf8DecodeSplit: utf8DecodeSplit,
    hexEncode: hexEncode, hexDecode: hexDecode, base64Encode: base64Encode, base64Decode: base64Decode
  };
})`;
