import { createHash, createHmac } from 'node:crypto';
import { errorForFunction } from '../../errors.js';

/** The digest algorithms CloudFront Functions offer; anything else is refused on both sides of the boundary. */
const ALGORITHMS: ReadonlySet<string> = new Set(['md5', 'sha1', 'sha256']);

/**
 * The host side of the prelude's `host.digest`: hashes (or, with a key, HMACs) `dataLatin1` and returns the raw
 * digest as a latin1 ("binary") string. Latin1 strings carry bytes 1:1 across the isolate boundary, which is
 * why key, data and result are all latin1.
 */
export function hostDigest(algorithm: string, keyLatin1: string | null, dataLatin1: string): string {
  if (!ALGORITHMS.has(algorithm)) throw errorForFunction(`not supported algorithm: "${String(algorithm)}"`);
  if (typeof dataLatin1 !== 'string' || (keyLatin1 !== null && typeof keyLatin1 !== 'string')) {
    throw new TypeError('hostDigest: key and data must be latin1 strings');
  }
  const data = Buffer.from(dataLatin1, 'latin1');
  const hash = keyLatin1 === null ? createHash(algorithm).update(data) : createHmac(algorithm, Buffer.from(keyLatin1, 'latin1')).update(data);
  return hash.digest().toString('latin1');
}
