/** SigV4 (`AWS4-HMAC-SHA256`): the HMAC signing-key chain and a constant-time check. */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGV4_ALGORITHM = 'AWS4-HMAC-SHA256';

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** Hex HMAC signature of `stringToSign` for the scope date/region/service. */
export function sigV4Signature(secretAccessKey: string, shortDate: string, region: string, service: string, toSign: string): string {
  let key = hmac(`AWS4${secretAccessKey}`, shortDate);
  for (const part of [region, service, 'aws4_request']) key = hmac(key, part);
  return hmac(key, toSign).toString('hex');
}

export function verifySigV4Signature(
  secretAccessKey: string,
  shortDate: string,
  region: string,
  service: string,
  toSign: string,
  signatureHex: string,
): boolean {
  const expected = Buffer.from(sigV4Signature(secretAccessKey, shortDate, region, service, toSign), 'hex');
  const given = /^[0-9a-f]{64}$/i.test(signatureHex) ? Buffer.from(signatureHex, 'hex') : Buffer.alloc(0);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
