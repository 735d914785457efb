/**
 * `Buffer` of runtime 2.0: the npm package `buffer` (feross, pure JS, with its dependencies `base64-js` and
 * `ieee754`), extended with the `base64url` encoding that v6 lacks (CloudFront samples rely on
 * `Buffer.from(s, 'base64url')`).
 *
 * The package (~50 KB of source) is bundled as a CommonJS module that esbuild evaluates on the first `require`
 * call, i.e. on the first use of Buffer: most functions never touch it, and building it at every isolate start
 * would be a third of a cold load.
 */
import type { Buffer as BufferClass } from 'buffer/';

export type BufferConstructor = typeof BufferClass;

// Resolved and bundled by esbuild (scripts/bundle-sandbox.ts), never a runtime lookup. 'buffer/' (trailing slash)
// names the npm package, not Node's built-in module.
declare function require(id: 'buffer/'): { Buffer: BufferConstructor };

let loaded: BufferConstructor | null = null;

/** Builds Buffer on the first call; later calls return the same class. */
export function getBuffer(): BufferConstructor {
  if (loaded === null) {
    const Buffer = require('buffer/').Buffer;
    if (!Buffer.isEncoding('base64url')) addBase64Url(Buffer);
    loaded = Buffer;
  }
  return loaded;
}

function isBase64Url(encoding: unknown): boolean {
  return typeof encoding === 'string' && encoding.toLowerCase() === 'base64url';
}

type Write = (this: BufferClass, ...args: unknown[]) => number;
type ToString = (this: BufferClass, encoding?: string, start?: number, end?: number) => string;

/**
 * Decoding base64url is decoding base64 (the package accepts both alphabets); only toString must differ.
 * fill, alloc, indexOf and includes reach the encoding through Buffer.isEncoding and Buffer.from, which are
 * replaced here, so they follow.
 */
function addBase64Url(Buffer: BufferConstructor): void {
  // The package's own typings are narrower than what it accepts at run time: these wrappers work on the loose shape.
  const B = Buffer as unknown as Record<string, (...args: unknown[]) => unknown>;
  const proto = Buffer.prototype as unknown as Record<string, unknown>;
  const slice = Array.prototype.slice;
  const baseIsEncoding = B.isEncoding as (encoding: unknown) => boolean;
  const baseFrom = B.from as (value: unknown, encodingOrOffset?: unknown, length?: unknown) => unknown;
  const baseByteLength = B.byteLength as (string: unknown, encoding?: unknown) => number;
  const baseWrite = proto.write as Write;
  const baseToString = proto.toString as ToString;
  B.isEncoding = function isEncoding(encoding: unknown) {
    return isBase64Url(encoding) || baseIsEncoding(encoding);
  };
  B.from = function from(value: unknown, encodingOrOffset?: unknown, length?: unknown) {
    if (typeof value === 'string' && isBase64Url(encodingOrOffset)) return baseFrom(value, 'base64');
    return baseFrom(value, encodingOrOffset, length);
  };
  B.byteLength = function byteLength(string: unknown, encoding?: unknown) {
    return baseByteLength(string, isBase64Url(encoding) ? 'base64' : encoding);
  };
  // `arguments` (not rest parameters) keeps each method's length what the package gives it.
  // eslint-disable-next-line @typescript-eslint/no-unused-vars -- named for its length, read through `arguments`
  proto.write = function write(this: BufferClass, string: unknown) {
    // eslint-disable-next-line prefer-rest-params -- a rest parameter would change write.length
    const args = slice.call(arguments) as unknown[];
    for (let i = 1; i < args.length; i++) if (isBase64Url(args[i])) args[i] = 'base64';
    return baseWrite.apply(this, args);
  };
  proto.toString = function toString(this: BufferClass, encoding?: string, start?: number, end?: number) {
    // The package's toString takes a fast path on arguments.length === 0: the arguments go on exactly as given.
    // eslint-disable-next-line prefer-rest-params
    if (!isBase64Url(encoding)) return baseToString.apply(this, arguments as unknown as [string?, number?, number?]);
    return baseToString.call(this, 'base64', start, end).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  };
  proto.toLocaleString = proto.toString;
}
