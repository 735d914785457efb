/**
 * Isolate-side `crypto` module: createHash / createHmac for md5, sha1 and sha256 (the only algorithms CloudFront
 * offers). Updates are buffered inside the isolate as one binary string and cross to the host once, at
 * digest(), so a hash costs a single host callback however many updates it had.
 *
 * The source is a function expression
 *   (kit, digestOnHost, digestToBytes, isByteString) => module
 * where digestToBytes turns a raw digest into what digest() without an encoding returns (a Buffer in 2.0, a
 * byte string in 1.0) and isByteString (1.0 only, else null) tells which strings are njs byte strings, whose
 * chars are the bytes themselves rather than text to UTF-8 encode.
 */
export const CRYPTO_FACTORY_SOURCE = String.raw`(function (kit, digestOnHost, digestToBytes, isByteString) {
  var ALGORITHMS = ['md5', 'sha1', 'sha256'];
  var isView = ArrayBuffer.isView;

  function checkAlgorithm(algorithm) {
    if (typeof algorithm !== 'string' || ALGORITHMS.indexOf(algorithm) < 0) {
      throw new TypeError('not supported algorithm: "' + algorithm + '"');
    }
  }

  function stringToBinary(str, encoding) {
    if (encoding === undefined || encoding === null) {
      return isByteString !== null && isByteString(str) ? str : kit.utf8Encode(str);
    }
    switch (String(encoding).toLowerCase()) {
      case 'utf8': case 'utf-8': return kit.utf8Encode(str);
      case 'latin1': case 'binary': return kit.codesToString(kit.binaryToUint8Array(str));
      case 'hex': return kit.hexDecode(str);
      case 'base64': case 'base64url': return kit.base64Decode(str);
      default: throw new TypeError('Unknown encoding: ' + encoding);
    }
  }

  function toBinary(value, encoding, name) {
    if (typeof value === 'string') return stringToBinary(value, encoding);
    if (isView(value)) return kit.viewToBinary(value);
    throw new TypeError('The "' + name + '" argument must be of type string or an instance of Buffer, TypedArray, or DataView');
  }

  function encodeDigest(raw, encoding) {
    switch (encoding) {
      case undefined: return digestToBytes(raw);
      case 'hex': return kit.hexEncode(raw);
      case 'base64': return kit.base64Encode(raw, false);
      case 'base64url': return kit.base64Encode(raw, true);
      default: throw new TypeError('Unknown digest encoding: "' + encoding + '"');
    }
  }

  function digester(algorithm, keyBinary) {
    var data = '', finished = false;
    function checkOpen() { if (finished) throw new Error('Digest already called'); }
    var self = {
      update: function (chunk, inputEncoding) {
        checkOpen();
        data += toBinary(chunk, inputEncoding, 'data');
        return self;
      },
      digest: function (encoding) {
        checkOpen();
        finished = true;
        var raw = digestOnHost(algorithm, keyBinary, data);
        data = '';
        return encodeDigest(raw, encoding);
      }
    };
    return self;
  }

  return {
    createHash: function (algorithm) {
      checkAlgorithm(algorithm);
      return digester(algorithm, null);
    },
    createHmac: function (algorithm, key) {
      checkAlgorithm(algorithm);
      return digester(algorithm, toBinary(key, undefined, 'key'));
    }
  };
})`;
