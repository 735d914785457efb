/**
 * Isolate-side `querystring` module with Node's semantics: escape/unescape, parse/decode (sep, eq, maxKeys with
 * 1000 default and 0 = unlimited, custom decodeURIComponent, '+' as space, repeated keys collected in arrays,
 * malformed UTF-8 escapes decoded to U+FFFD) and stringify/encode (arrays expand to repeated keys).
 *
 * Deliberate differences: parse returns an ordinary object, as CloudFront's engine does, rather than Node's
 * null-prototype object (keys such as "__proto__" or "toString" are still stored as own data properties); and
 * when unescape falls back from decodeURIComponent, unescaped non-ASCII characters keep their value where Node
 * truncates each to its low byte.
 *
 * The source is a function expression `(kit) => module`.
 */
export const QUERYSTRING_FACTORY_SOURCE = String.raw`(function (kit) {
  var encodeURIComponentFn = encodeURIComponent, decodeURIComponentFn = decodeURIComponent;
  var hasOwn = Object.prototype.hasOwnProperty, defineProperty = Object.defineProperty, reflectApply = Reflect.apply;
  var objectKeys = Object.keys, isArray = Array.isArray;
  var ENCODED_BYTE = /%[0-9a-fA-F]{2}/;
  var HEX_PAIR = /^[0-9a-fA-F]{2}$/;

  function escape(str) {
    return encodeURIComponentFn(typeof str === 'string' ? str : String(str));
  }

  /** Percent-decodes to bytes (leaving invalid escapes as they are), then decodes those bytes as UTF-8. */
  function unescapeBytes(s, decodeSpaces) {
    var bin = '';
    for (var i = 0; i < s.length; i++) {
      var ch = s.charAt(i);
      if (ch === '+' && decodeSpaces) bin += ' ';
      else if (ch === '%' && HEX_PAIR.test(s.substr(i + 1, 2))) { bin += kit.hexDecode(s.substr(i + 1, 2)); i += 2; }
      else bin += kit.utf8Encode(ch);
    }
    return kit.utf8Decode(bin, false);
  }

  function unescape(s, decodeSpaces) {
    try {
      return decodeURIComponentFn(s);
    } catch (e) {
      return unescapeBytes(String(s), decodeSpaces);
    }
  }

  function decodeComponent(s, decode, custom) {
    if (s.length === 0 || (!custom && !ENCODED_BYTE.test(s))) return s;
    try {
      return decode(s);
    } catch (e) {
      return unescape(s, true);
    }
  }

  function addValue(obj, key, value) {
    if (!reflectApply(hasOwn, obj, [key])) {
      defineProperty(obj, key, { value: value, writable: true, enumerable: true, configurable: true });
    } else if (isArray(obj[key])) {
      obj[key].push(value);
    } else {
      obj[key] = [obj[key], value];
    }
  }

  function parse(qs, sep, eq, options) {
    var obj = {};
    if (typeof qs !== 'string' || qs.length === 0) return obj;
    sep = sep ? String(sep) : '&';
    eq = eq ? String(eq) : '=';
    var pairs = 1000;
    if (options && typeof options.maxKeys === 'number') pairs = options.maxKeys > 0 ? options.maxKeys : -1;
    var decode = unescape;
    if (options && typeof options.decodeURIComponent === 'function') decode = options.decodeURIComponent;
    var custom = decode !== unescape;
    var plus = custom ? '%20' : ' ';

    var segments = qs.split(sep);
    for (var i = 0; i < segments.length; i++) {
      var segment = segments[i];
      // Empty segments add nothing but, as in Node, still count against maxKeys.
      if (segment.length > 0) {
        var at = segment.indexOf(eq);
        var key = (at < 0 ? segment : segment.slice(0, at)).split('+').join(plus);
        var value = (at < 0 ? '' : segment.slice(at + eq.length)).split('+').join(plus);
        addValue(obj, decodeComponent(key, decode, custom), decodeComponent(value, decode, custom));
      }
      if (--pairs === 0) break;
    }
    return obj;
  }

  function stringifyPrimitive(v) {
    if (typeof v === 'string') return v;
    if (typeof v === 'number' && isFinite(v)) return '' + v;
    if (typeof v === 'bigint') return '' + v;
    if (typeof v === 'boolean') return v ? 'true' : 'false';
    return '';
  }

  function stringify(obj, sep, eq, options) {
    sep = sep || '&';
    eq = eq || '=';
    var encode = escape;
    if (options && typeof options.encodeURIComponent === 'function') encode = options.encodeURIComponent;
    if (obj === null || typeof obj !== 'object') return '';
    var fields = [];
    var keys = objectKeys(obj);
    for (var i = 0; i < keys.length; i++) {
      var prefix = encode(keys[i]) + eq;
      var v = obj[keys[i]];
      if (isArray(v)) {
        for (var j = 0; j < v.length; j++) fields.push(prefix + encode(stringifyPrimitive(v[j])));
      } else {
        fields.push(prefix + encode(stringifyPrimitive(v)));
      }
    }
    return fields.join(sep);
  }

  return { escape: escape, unescape: unescape, parse: parse, decode: parse, stringify: stringify, encode: stringify };
})`;
