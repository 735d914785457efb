/**
 * Isolate-side web text globals of runtime 2.0: TextEncoder, TextDecoder (UTF-8 only, WHATWG semantics incl.
 * `fatal`, `ignoreBOM` and `{ stream: true }`), atob and btoa (forgiving-base64, throwing like browsers).
 * A bare V8 isolate has none of these, so they are built here on the bytes kit.
 *
 * The source is a function expression `(kit) => globals`; the prelude installs the globals on globalThis.
 */
export const TEXT_FACTORY_SOURCE = String.raw`(function (kit) {
  var UTF8_LABELS = ['utf-8', 'utf8', 'unicode-1-1-utf-8', 'unicode11utf8', 'unicode20utf8', 'x-unicode20utf8'];
  var isView = ArrayBuffer.isView;

  function inputToBinary(input) {
    if (input === undefined) return '';
    if (input instanceof ArrayBuffer) return kit.codesToString(new Uint8Array(input));
    if (isView(input)) return kit.viewToBinary(input);
    throw new TypeError('The "input" argument must be an instance of ArrayBuffer or ArrayBufferView');
  }

  class TextEncoder {
    get encoding() { return 'utf-8'; }
    encode(input) {
      return kit.binaryToUint8Array(kit.utf8Encode(input === undefined ? '' : String(input)));
    }
    encodeInto(src, dest) {
      if (!(dest instanceof Uint8Array)) throw new TypeError('The "dest" argument must be an instance of Uint8Array');
      var str = String(src), read = 0, written = 0, room = dest.length;
      while (read < str.length) {
        var c = str.charCodeAt(read), units = 1;
        if (c >= 0xd800 && c <= 0xdfff) {
          var next = read + 1 < str.length ? str.charCodeAt(read + 1) : 0;
          if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
            c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
            units = 2;
          } else {
            c = 0xfffd;
          }
        }
        var size = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
        if (written + size > room) break;
        if (size === 1) dest[written] = c;
        else if (size === 2) { dest[written] = 0xc0 | (c >> 6); dest[written + 1] = 0x80 | (c & 0x3f); }
        else if (size === 3) {
          dest[written] = 0xe0 | (c >> 12); dest[written + 1] = 0x80 | ((c >> 6) & 0x3f);
          dest[written + 2] = 0x80 | (c & 0x3f);
        } else {
          dest[written] = 0xf0 | (c >> 18); dest[written + 1] = 0x80 | ((c >> 12) & 0x3f);
          dest[written + 2] = 0x80 | ((c >> 6) & 0x3f); dest[written + 3] = 0x80 | (c & 0x3f);
        }
        written += size;
        read += units;
      }
      return { read: read, written: written };
    }
  }

  class TextDecoder {
    #fatal; #ignoreBOM; #pending = ''; #bomDone = false;
    constructor(label, options) {
      var name = label === undefined ? 'utf-8' : String(label).trim().toLowerCase();
      if (UTF8_LABELS.indexOf(name) < 0) throw new RangeError('The "' + label + '" encoding is not supported');
      this.#fatal = !!(options && options.fatal);
      this.#ignoreBOM = !!(options && options.ignoreBOM);
    }
    get encoding() { return 'utf-8'; }
    get fatal() { return this.#fatal; }
    get ignoreBOM() { return this.#ignoreBOM; }
    decode(input, options) {
      var stream = !!(options && options.stream);
      var bin = this.#pending + inputToBinary(input);
      var split = kit.utf8DecodeSplit(bin, this.#fatal, stream);
      var text = split[0];
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

  function invalidCharacterError(message) {
    var error = new Error(message);
    error.name = 'InvalidCharacterError';
    error.code = 5;
    return error;
  }

  function atob(data) {
    if (arguments.length === 0) throw new TypeError('The "data" argument must be specified');
    var s = String(data).replace(/[\t\n\f\r ]/g, '');
    if (s.length % 4 === 0) s = s.replace(/==?$/, '');
    if (s.length % 4 === 1 || /[^A-Za-z0-9+\/]/.test(s)) {
      throw invalidCharacterError('The string to be decoded is not correctly encoded.');
    }
    return kit.base64Decode(s);
  }

  function btoa(data) {
    if (arguments.length === 0) throw new TypeError('The "data" argument must be specified');
    var s = String(data);
    if (/[^\x00-\xff]/.test(s)) throw invalidCharacterError('Invalid character');
    return kit.base64Encode(s, false);
  }

  return { TextEncoder: TextEncoder, TextDecoder: TextDecoder, atob: atob, btoa: btoa };
})`;
