import type { RuntimeVersion } from '../event.js';
import { isolateScript } from '../sandbox/isolate-scripts.js';

/**
 * Source of the prelude script of a runtime, whose value is ONE function, evaluated in the isolate's context:
 *   prelude(host) → { modules: { crypto, querystring, buffer? } }
 * It installs the runtime's globals on globalThis (2.0: Buffer, TextEncoder, TextDecoder, atob, btoa;
 * 1.0: String.bytesFrom and String.prototype.fromBytes/fromUTF8/toBytes/toUTF8 — also String.prototype.bytesFrom)
 * and returns the module objects that `require(name)` / `import x from name` give.
 * `host.digest(algorithm, keyLatin1OrNull, dataLatin1)` is a synchronous host callback returning the raw digest as
 * a latin1 ("binary") string (host-digest.ts); the prelude never exposes `host` to user code.
 * The code lives in ../sandbox/isolate/builtins/ (prelude-1.ts, prelude-2.ts).
 */
export function preludeSource(runtime: RuntimeVersion): string {
  return isolateScript(runtime === 'cloudfront-js-2.0' ? 'prelude-2' : 'prelude-1');
}
