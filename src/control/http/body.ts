/** Request body reading with a size cap, and strict UTF-8 decoding. */
import type { IncomingMessage } from 'node:http';
import { OpenFrontError } from '../../errors.js';

/**
 * Reads the whole body, up to `maxBytes`. A larger body is drained (so the client can read the error response
 * instead of seeing a reset connection) and reported as PAYLOAD_TOO_LARGE.
 */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  let tooLarge = Number(req.headers['content-length'] ?? 0) > maxBytes;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > maxBytes) tooLarge = true;
    if (!tooLarge) chunks.push(chunk);
  }
  if (tooLarge) throw new OpenFrontError('PAYLOAD_TOO_LARGE', `The request body is larger than the ${maxBytes}-byte limit`, { limit: maxBytes });
  return Buffer.concat(chunks, total);
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
