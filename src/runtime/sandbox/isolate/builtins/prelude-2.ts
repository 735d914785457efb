/**
 * The prelude of runtime 2.0: one bundle (scripts/bundle-sandbox.ts) whose value is `prelude(host)`. Calling it
 * installs Buffer, TextEncoder, TextDecoder, atob and btoa on globalThis and returns the module objects that
 * `require(name)` / `import x from name` give.
 *
 * `host.digest` stays in this closure: the prelude never exposes it to user code.
 */
import type { PreludeHost } from '../../isolate-contract.js';
import { getBuffer } from './buffer.js';
import { createCryptoModule } from './crypto.js';
import { createQuerystringModule } from './querystring.js';
import { TextDecoder, TextEncoder, atob, btoa } from './text.js';

const defineProperty = Object.defineProperty;

/** Globals are writable and configurable but not enumerable, like the ones V8 itself installs. */
function defineGlobal(name: string, value: unknown): void {
  defineProperty(globalThis, name, { value: value, writable: true, enumerable: false, configurable: true });
}

export function prelude(host: PreludeHost): { modules: Record<string, unknown> } {
  const crypto = createCryptoModule(host.digest, digestToBuffer, null);
  const querystring = createQuerystringModule();
  // Buffer is built on its first use (see buffer.ts): the global and the module property are getters until then.
  // The global then becomes a plain value, so user code can still replace it.
  defineProperty(globalThis, 'Buffer', {
    get: function () {
      const B = getBuffer();
      defineGlobal('Buffer', B);
      return B;
    },
    set: function (value) {
      defineGlobal('Buffer', value);
    },
    enumerable: false,
    configurable: true,
  });
  const globals: Record<string, unknown> = { TextEncoder: TextEncoder, TextDecoder: TextDecoder, atob: atob, btoa: btoa };
  for (const name in globals) defineGlobal(name, globals[name]);
  const buffer = {};
  defineProperty(buffer, 'Buffer', { get: getBuffer, enumerable: true });
  return { modules: { crypto: crypto, querystring: querystring, buffer: buffer } };
}

/** 2.0's digest() without an encoding returns a Buffer. */
function digestToBuffer(raw: string): unknown {
  return getBuffer().from(raw, 'latin1');
}
