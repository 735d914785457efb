/**
 * The `crypto` module: createHash / createHmac for md5, sha1 and sha256 (the only algorithms CloudFront offers).
 * Updates are buffered inside the isolate as one binary string and cross to the host once, at digest(), so a hash
 * costs a single host callback however many updates it had.
 */
import type { HostDigest } from '../../isolate-contract.js';
import { base64Decode, base64Encode, binaryToUint8Array, codesToString, hexDecode, hexEncode, utf8Encode, viewToBinary } from './bytes.js';

const ALGORITHMS = ['md5', 'sha1', 'sha256'];
const isView = ArrayBuffer.isView;

interface Digester {
  update(chunk: unknown, inputEncoding?: unknown): Digester;
  digest(encoding?: unknown): unknown;
}

export interface CryptoModule {
  createHash(algorithm: unknown): Digester;
  createHmac(algorithm: unknown, key: unknown): Digester;
}

/**
 * @param digestOnHost the host callback that hashes.
 * @param digestToBytes turns a raw digest into what digest() without an encoding returns (a Buffer in 2.0, a byte
 *   string in 1.0).
 * @param isByteString (1.0 only, else null) tells which strings are njs byte strings, whose chars are the bytes
 *   themselves rather than text to UTF-8 encode.
 */
export function createCryptoModule(
  digestOnHost: HostDigest,
  digestToBytes: (raw: string) => unknown,
  isByteString: ((s: string) => boolean) | null,
): CryptoModule {
  function checkAlgorithm(algorithm: unknown): asserts algorithm is string {
    if (typeof algorithm !== 'string' || ALGORITHMS.indexOf(algorithm) < 0) {
      throw new TypeError('not supported algorithm: "' + (algorithm as string) + '"');
    }
  }

  function stringToBinary(str: string, encoding: unknown): string {
    if (encoding === undefined || encoding === null) {
      return isByteString !== null && isByteString(str) ? str : utf8Encode(str);
    }
    switch (String(encoding).toLowerCase()) {
      case 'utf8':
      case 'utf-8':
        return utf8Encode(str);
      case 'latin1':
      case 'binary':
        // Each char keeps its low byte, as Node's latin1 does.
        return codesToString(binaryToUint8Array(str));
      case 'hex':
        return hexDecode(str);
      case 'base64':
      case 'base64url':
        return base64Decode(str);
      default:
        throw new TypeError('Unknown encoding: ' + (encoding as string));
    }
  }

  function toBinary(value: unknown, encoding: unknown, name: string): string {
    if (typeof value === 'string') return stringToBinary(value, encoding);
    if (isView(value)) return viewToBinary(value);
    throw new TypeError('The "' + name + '" argument must be of type string or an instance of Buffer, TypedArray, or DataView');
  }

  function encodeDigest(raw: string, encoding: unknown): unknown {
    switch (encoding) {
      case undefined:
        return digestToBytes(raw);
      case 'hex':
        return hexEncode(raw);
      case 'base64':
        return base64Encode(raw, false);
      case 'base64url':
        return base64Encode(raw, true);
      default:
        throw new TypeError('Unknown digest encoding: "' + (encoding as string) + '"');
    }
  }

  function digester(algorithm: string, keyBinary: string | null): Digester {
    let data = '',
      finished = false;
    function checkOpen(): void {
      if (finished) throw new Error('Digest already called');
    }
    // Function expressions, as Node's methods are plain functions (not class methods).
    const self: Digester = {
      update: function (chunk, inputEncoding) {
        checkOpen();
        data += toBinary(chunk, inputEncoding, 'data');
        return self;
      },
      digest: function (encoding) {
        checkOpen();
        finished = true;
        const raw = digestOnHost(algorithm, keyBinary, data);
        data = '';
        return encodeDigest(raw, encoding);
      },
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
    },
  };
}
