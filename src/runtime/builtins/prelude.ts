import type { RuntimeVersion } from '../event.js';
import { bufferFactorySource } from './buffer.js';
import { BYTES_FACTORY_SOURCE } from './bytes.js';
import { BYTESTRING_FACTORY_SOURCE } from './bytestring.js';
import { CRYPTO_FACTORY_SOURCE } from './crypto.js';
import { QUERYSTRING_FACTORY_SOURCE } from './querystring.js';
import { TEXT_FACTORY_SOURCE } from './text.js';

/**
 * JavaScript source of ONE function expression, evaluated in the isolate's context:
 *   (function (host) { ...; return { modules: { crypto, querystring, buffer? } }; })
 * It installs the runtime's globals on globalThis (2.0: Buffer, TextEncoder, TextDecoder, atob, btoa;
 * 1.0: String.bytesFrom and String.prototype.fromBytes/fromUTF8/toBytes/toUTF8 — also String.prototype.bytesFrom)
 * and returns the module objects that `require(name)` / `import x from name` give.
 * `host.digest(algorithm, keyLatin1OrNull, dataLatin1)` is a synchronous host callback returning the raw digest as
 * a latin1 ("binary") string; the prelude never exposes `host` to user code (it is captured in the closure).
 */
export function preludeSource(runtime: RuntimeVersion): string {
  let source = cache.get(runtime);
  if (source === undefined) {
    source = runtime === 'cloudfront-js-2.0' ? runtime2Source() : runtime1Source();
    cache.set(runtime, source);
  }
  return source;
}

const cache = new Map<RuntimeVersion, string>();

function runtime1Source(): string {
  return `(function (host) {
  'use strict';
  var digestOnHost = host.digest;
  var kit = ${BYTES_FACTORY_SOURCE}();
  var byteStrings = ${BYTESTRING_FACTORY_SOURCE}(kit);
  var crypto = ${CRYPTO_FACTORY_SOURCE}(kit, digestOnHost, byteStrings.mark, byteStrings.isByteString);
  var querystring = ${QUERYSTRING_FACTORY_SOURCE}(kit);
  return { modules: { crypto: crypto, querystring: querystring } };
})`;
}

function runtime2Source(): string {
  // Buffer (the npm buffer package, ~50 KB of source) is built on first use: most functions never touch it, and
  // building it at every isolate start would be a third of a cold load.
  return `(function (host) {
  'use strict';
  var digestOnHost = host.digest;
  var kit = ${BYTES_FACTORY_SOURCE}();
  var BufferImpl = null;
  function getBuffer() {
    if (BufferImpl === null) BufferImpl = ${bufferFactorySource()}();
    return BufferImpl;
  }
  var text = ${TEXT_FACTORY_SOURCE}(kit);
  function digestToBuffer(raw) { return getBuffer().from(raw, 'latin1'); }
  var crypto = ${CRYPTO_FACTORY_SOURCE}(kit, digestOnHost, digestToBuffer, null);
  var querystring = ${QUERYSTRING_FACTORY_SOURCE}(kit);
  function defineGlobal(name, value) {
    Object.defineProperty(globalThis, name, { value: value, writable: true, enumerable: false, configurable: true });
  }
  Object.defineProperty(globalThis, 'Buffer', {
    get: function () { var B = getBuffer(); defineGlobal('Buffer', B); return B; },
    set: function (value) { defineGlobal('Buffer', value); },
    enumerable: false,
    configurable: true
  });
  var globals = { TextEncoder: text.TextEncoder, TextDecoder: text.TextDecoder, atob: text.atob, btoa: text.btoa };
  for (var name in globals) defineGlobal(name, globals[name]);
  var buffer = {};
  Object.defineProperty(buffer, 'Buffer', { get: getBuffer, enumerable: true });
  return { modules: { crypto: crypto, querystring: querystring, buffer: buffer } };
})`;
}
