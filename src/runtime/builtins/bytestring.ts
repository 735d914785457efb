/**
 * Isolate-side non-standard byte-string methods of runtime 1.0 (njs): String.bytesFrom (also reachable as
 * String.prototype.bytesFrom, since the docs and the engine disagree on its placement) and
 * String.prototype.fromBytes / fromUTF8 / toBytes / toUTF8.
 *
 * njs keeps a hidden "byte string" flag on strings; V8 strings cannot carry one. We approximate it with a small
 * bounded set of the non-ASCII byte strings the runtime produced (from these methods and from 1.0's
 * digest()), so that such a string fed back into crypto (e.g. an HMAC key chain) is hashed as its bytes, not
 * UTF-8 encoded. ASCII strings are the same either way and are never tracked.
 *
 * The source is a function expression `(kit) => { mark, isByteString }`; calling it installs the methods.
 */
export const BYTESTRING_FACTORY_SOURCE = String.raw`(function (kit) {
  var MAX_TRACKED = 64;
  var tracked = Object.create(null), trackedCount = 0;
  var isArray = Array.isArray, isView = ArrayBuffer.isView, defineProperty = Object.defineProperty;
  var NOT_LATIN1 = /[^\x00-\xff]/;

  function mark(s) {
    if (!kit.isAscii(s) && tracked[s] !== true) {
      if (trackedCount >= MAX_TRACKED) { tracked = Object.create(null); trackedCount = 0; }
      tracked[s] = true;
      trackedCount++;
    }
    return s;
  }

  function isByteString(s) { return kit.isAscii(s) || tracked[s] === true; }

  /** The bytes njs would see: a byte string's own chars, otherwise the UTF-8 encoding of the text. */
  function bytesOf(s) { return isByteString(s) ? s : kit.utf8Encode(s); }

  function bytesFrom(value, encoding) {
    if (isArray(value) || isView(value)) {
      var codes = [];
      for (var i = 0; i < value.length; i++) codes.push(Number(value[i]) & 0xff);
      return mark(kit.codesToString(codes));
    }
    var str = String(value);
    switch (encoding) {
      case 'hex': return mark(kit.hexDecode(str));
      case 'base64': case 'base64url': return mark(kit.base64Decode(str));
      default: throw new TypeError('Unknown encoding: "' + encoding + '"');
    }
  }

  var methods = {
    bytesFrom: bytesFrom,
    fromBytes: function (start, end) { return bytesOf(String(this)).slice(start, end); },
    fromUTF8: function (start, end) { return kit.utf8Decode(bytesOf(String(this)).slice(start, end), true); },
    toBytes: function (start, end) {
      var s = String(this).slice(start, end);
      return NOT_LATIN1.test(s) ? null : mark(s);
    },
    toUTF8: function (start, end) {
      var s = String(this);
      return mark(isByteString(s) ? s.slice(start, end) : kit.utf8Encode(s.slice(start, end)));
    }
  };

  function install(target, name, fn) {
    defineProperty(target, name, { value: fn, writable: true, enumerable: false, configurable: true });
  }
  install(String, 'bytesFrom', bytesFrom);
  for (var name in methods) install(String.prototype, name, methods[name]);

  return { mark: mark, isByteString: isByteString };
})`;
