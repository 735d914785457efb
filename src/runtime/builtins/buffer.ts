import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/**
 * Isolate-side `Buffer` of runtime 2.0: the npm package `buffer` (feross, pure JS, with its dependencies
 * `base64-js` and `ieee754`), read from node_modules once and wrapped in a minimal CommonJS shim, then extended
 * with the `base64url` encoding that v6 lacks (CloudFront samples rely on `Buffer.from(s, 'base64url')`).
 *
 * The source is a function expression `() => Buffer`.
 */
export function bufferFactorySource(): string {
  cachedSource ??= buildSource();
  return cachedSource;
}

let cachedSource: string | undefined;

/** The package's own module names, which its `require` calls use. */
const PACKAGE_MODULES = ['base64-js', 'ieee754', 'buffer'] as const;

function buildSource(): string {
  // 'buffer/' (trailing slash) names the npm package; plain 'buffer' would resolve to Node's built-in.
  const bufferPath = createRequire(import.meta.url).resolve('buffer/');
  const fromBuffer = createRequire(bufferPath);
  const definitions = PACKAGE_MODULES.map((name) => {
    const path = name === 'buffer' ? bufferPath : fromBuffer.resolve(name);
    return `${JSON.stringify(name)}: function (module, exports, require) {\n${readFileSync(path, 'utf8')}\n}`;
  });
  return `(function () {
  var definitions = {
${definitions.join(',\n')}
  };
  ${SHIM_SOURCE}
})`;
}

const SHIM_SOURCE = String.raw`
  var loaded = Object.create(null);
  function requireShim(name) {
    if (loaded[name] === undefined) {
      var module = { exports: {} };
      loaded[name] = module;
      definitions[name].call(module.exports, module, module.exports, requireShim);
    }
    return loaded[name].exports;
  }

  function isBase64Url(encoding) {
    return typeof encoding === 'string' && encoding.toLowerCase() === 'base64url';
  }

  // Decoding base64url is decoding base64 (the package accepts both alphabets); only toString must differ.
  // fill, alloc, indexOf and includes reach the encoding through Buffer.isEncoding and Buffer.from, which are
  // replaced here, so they follow.
  function addBase64Url(Buffer) {
    var proto = Buffer.prototype, slice = Array.prototype.slice;
    var baseIsEncoding = Buffer.isEncoding, baseFrom = Buffer.from, baseByteLength = Buffer.byteLength;
    var baseWrite = proto.write, baseToString = proto.toString;
    Buffer.isEncoding = function isEncoding(encoding) {
      return isBase64Url(encoding) || baseIsEncoding(encoding);
    };
    Buffer.from = function from(value, encodingOrOffset, length) {
      if (typeof value === 'string' && isBase64Url(encodingOrOffset)) return baseFrom(value, 'base64');
      return baseFrom(value, encodingOrOffset, length);
    };
    Buffer.byteLength = function byteLength(string, encoding) {
      return baseByteLength(string, isBase64Url(encoding) ? 'base64' : encoding);
    };
    proto.write = function write(string) {
      var args = slice.call(arguments);
      for (var i = 1; i < args.length; i++) if (isBase64Url(args[i])) args[i] = 'base64';
      return baseWrite.apply(this, args);
    };
    proto.toString = function toString(encoding, start, end) {
      if (!isBase64Url(encoding)) return baseToString.apply(this, arguments);
      return baseToString.call(this, 'base64', start, end).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    };
    proto.toLocaleString = proto.toString;
  }

  var Buffer = requireShim('buffer').Buffer;
  if (!Buffer.isEncoding('base64url')) addBase64Url(Buffer);
  return Buffer;
`;
