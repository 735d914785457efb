/**
 * SigV4a (`AWS4-ECDSA-P256-SHA256`): the P-256 key pair AWS derives from an access key, and ECDSA verification.
 *
 * The private scalar comes from the NIST SP 800-108 KDF in counter mode with HMAC-SHA256 keyed by "AWS4A" + secret,
 * as in aws-c-auth `key_derivation.c` and `@smithy/signature-v4a`'s `getSigV4aSigningKey`. The two differ only when
 * the first candidate exceeds n-2 (probability ~2^-32): the CRT resets the fixed input per try, the JS SDK appends
 * to it. We follow the CRT, as the wire-protocol spec records.
 */
import { createECDH, createHmac, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { openFrontError } from '../../errors.js';

export const SIGV4A_ALGORITHM = 'AWS4-ECDSA-P256-SHA256';

/** n - 2 for the P-256 group order n. */
const P256_ORDER_MINUS_TWO = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc63254f');

function fixedInput(accessKeyId: string, counter: number): Buffer {
  return Buffer.concat([
    Buffer.from([0x00, 0x00, 0x00, 0x01]),
    Buffer.from(SIGV4A_ALGORITHM, 'latin1'),
    Buffer.from([0x00]),
    Buffer.from(accessKeyId, 'utf8'),
    Buffer.from([counter]),
    Buffer.from([0x00, 0x00, 0x01, 0x00]),
  ]);
}

/** The 32-byte private scalar d for an access key. */
export function deriveSigV4aPrivateKey(accessKeyId: string, secretAccessKey: string): Buffer {
  for (let counter = 1; counter <= 254; counter++) {
    const k0 = createHmac('sha256', `AWS4A${secretAccessKey}`).update(fixedInput(accessKeyId, counter)).digest();
    const candidate = BigInt(`0x${k0.toString('hex')}`);
    if (candidate <= P256_ORDER_MINUS_TWO) {
      return Buffer.from((candidate + 1n).toString(16).padStart(64, '0'), 'hex');
    }
  }
  throw openFrontError('INTERNAL', 'Cannot derive a SigV4a key: the counter was exhausted');
}

/** The public key Q = d·G for an access key, ready for `crypto.verify`. */
export function deriveSigV4aPublicKey(accessKeyId: string, secretAccessKey: string): KeyObject {
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(deriveSigV4aPrivateKey(accessKeyId, secretAccessKey));
  const point = ecdh.getPublicKey(null, 'uncompressed');
  return createPublicKey({
    format: 'jwk',
    key: { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') },
  });
}

/** Checks a hex DER ECDSA-P256-SHA256 signature over `stringToSign`. */
export function verifySigV4aSignature(publicKey: KeyObject, toSign: string, signatureHex: string): boolean {
  if (!/^[0-9a-f]+$/i.test(signatureHex) || signatureHex.length % 2 !== 0 || signatureHex.length > 160) return false;
  try {
    return verify('sha256', Buffer.from(toSign, 'utf8'), publicKey, Buffer.from(signatureHex, 'hex'));
  } catch {
    // A malformed DER blob throws instead of returning false; either way it is not a valid signature.
    return false;
  }
}
