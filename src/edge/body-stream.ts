/**
 * Moving a body from an origin (or the cache) to the viewer: piped with backpressure, so a response of any size
 * holds only a stream's high-water mark in memory (docs/edge.md, "Streaming").
 */
import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** What a streamed body did: bytes that reached the response, and why it stopped early if it did. */
export interface StreamSent {
  bytes: number;
  error?: string;
}

/**
 * Pipes `body` into `res` and resolves when either is done. A viewer that goes away destroys the body (and with an
 * origin body, its connection); a body that fails destroys the response, so the viewer sees a cut message, never a
 * short one that looks complete.
 */
export async function sendStream(body: Readable, res: ServerResponse): Promise<StreamSent> {
  let bytes = 0;
  body.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
  });
  try {
    await pipeline(body, res);
    return { bytes };
  } catch (err) {
    if (!res.destroyed) res.destroy();
    return { bytes, error: (err as Error).message };
  }
}

/** The Content-Length an origin declared, when it is one valid number (else the body is sent chunked). */
export function declaredLength(headers: ReadonlyArray<readonly [string, string]>): number | undefined {
  let found: number | undefined;
  for (const [name, value] of headers) {
    if (name.length !== 14 || name.toLowerCase() !== 'content-length') continue;
    if (!/^\d{1,15}$/.test(value.trim())) return undefined;
    const n = Number(value.trim());
    if (found !== undefined && found !== n) return undefined;
    found = n;
  }
  return found;
}

/** Bytes already in memory, as a stream like any other body. */
export function bodyFromBytes(bytes: Buffer): Readable {
  return Readable.from([bytes], { objectMode: false });
}
