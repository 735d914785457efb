/** Request body reading: capped while streaming, hashed as it arrives, and strict UTF-8 decoding. */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { OpenFrontError } from '../../errors.js';

/** The body is larger than the route allows: PAYLOAD_TOO_LARGE, with the limit in `details.limit`. */
export function bodyTooLarge(limit: number): OpenFrontError {
  return new OpenFrontError('PAYLOAD_TOO_LARGE', `The request body is larger than the ${limit}-byte limit`, { limit });
}

/** The length a request declares: a number, 'chunked' (length unknown) or 0 when it declares no body. */
export function declaredBodyLength(req: IncomingMessage): number | 'chunked' {
  if (req.headers['transfer-encoding'] !== undefined) return 'chunked';
  const length = Number(req.headers['content-length'] ?? 0);
  return Number.isFinite(length) && length >= 0 ? length : 0;
}

/**
 * Reads the whole body, up to `maxBytes`, hashing it (SHA-256 hex) on the way. The moment more than `maxBytes`
 * have arrived, reading stops and PAYLOAD_TOO_LARGE ({@link bodyTooLarge}) is thrown: the caller answers and closes the connection,
 * so an oversized body costs at most `maxBytes` of memory.
 */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<{ body: Buffer; sha256: string }> {
  const chunks: Buffer[] = [];
  const hash = createHash('sha256');
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > maxBytes) throw bodyTooLarge(maxBytes);
    hash.update(chunk);
    chunks.push(chunk);
  }
  return { body: Buffer.concat(chunks, total), sha256: hash.digest('hex') };
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** UTF-8 text of `bytes`, or undefined when they are not valid UTF-8 (never replaced with U+FFFD). */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}
