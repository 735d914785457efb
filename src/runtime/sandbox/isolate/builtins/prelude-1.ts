/**
 * The prelude of runtime 1.0 (njs): one bundle (scripts/bundle-sandbox.ts) whose value is `prelude(host)`.
 * Calling it installs String.bytesFrom and String.prototype.fromBytes/fromUTF8/toBytes/toUTF8 (also
 * String.prototype.bytesFrom) and returns the module objects that `require(name)` gives.
 *
 * `host.digest` stays in this closure: the prelude never exposes it to user code.
 */
import type { PreludeHost } from '../../isolate-contract.js';
import { installByteStringMethods, isByteString, mark } from './bytestring.js';
import { createCryptoModule } from './crypto.js';
import { createQuerystringModule } from './querystring.js';

export function prelude(host: PreludeHost): { modules: Record<string, unknown> } {
  installByteStringMethods();
  // 1.0's digest() without an encoding returns a byte string, remembered as one so it hashes as bytes again.
  const crypto = createCryptoModule(host.digest, mark, isByteString);
  const querystring = createQuerystringModule();
  return { modules: { crypto: crypto, querystring: querystring } };
}
