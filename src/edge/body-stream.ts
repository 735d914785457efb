/**
 * Moving a body from an origin (or the cache) to the viewer: piped with backpressure, so a response of any size
 * holds only a stream's high-water mark in memory (docs/edge.md, "Streaming").
 */
import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { noteStreamedBytes } from './stream-garbage.js';

/** What a streamed body did: bytes that reached the response, and why it stopped early if it did. */
export interface StreamSent {
  bytes: number;
  error?: string;
}

/**
 * Pipes `body` into `res` and resolves when either is done. A viewer that goes away destroys the body (and with an
 * origin body, its connection); a body that fails destroys the response, so the viewer sees a cut message, never a
 * short one that looks complete.
 *
 * A hand-made pump rather than `stream.pipeline`: this runs for every proxied response, and pipeline's per-call
 * AbortController (whose abort builds a DOMException with a stack trace) and end-of-stream watchers cost more CPU
 * than the small response itself (docs/edge.md, "Streaming"). With `length` (the declared Content-Length), the
 * chunk that completes the body is handed to `res.end`, so a small response goes out with its head in one write.
 */
export function sendStream(body: Readable, res: ServerResponse, length?: number): StreamSent | Promise<StreamSent> {
  const arrived = wholeBodyArrived(body, res, length);
  if (arrived !== undefined) return arrived;
  return new Promise<StreamSent>((resolve) => {
    let bytes = 0;
    let ended = false;
    let settled = false;
    const settle = (error?: string) => {
      if (settled) return;
      settled = true;
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onBodyError);
      body.off('close', onBodyClose);
      res.off('drain', onDrain);
      res.off('close', onResClose);
      res.off('error', onResError);
      resolve(error === undefined ? { bytes } : { bytes, error });
    };
    const fail = (error: string) => {
      if (!res.destroyed) res.destroy();
      settle(error);
      // An undici body destroyed unread reports its abort as an error: nobody is listening for it any more.
      body.on('error', ignore);
      if (!body.destroyed) body.destroy();
    };
    const finish = () => settle();
    const onData = (chunk: Buffer) => {
      bytes += chunk.length;
      noteStreamedBytes(chunk.length);
      if (length !== undefined && bytes === length && !ended) {
        ended = true;
        res.end(chunk, finish);
        return;
      }
      if (ended) return;
      if (!res.write(chunk)) body.pause();
    };
    const onDrain = () => body.resume();
    const onEnd = () => {
      if (ended) return;
      ended = true;
      res.end(finish);
    };
    const onBodyError = (err: Error) => fail(err.message);
    // Destroyed without an error before its end (an aborted origin connection): the viewer must not see it as complete.
    const onBodyClose = () => {
      if (!body.readableEnded && !ended) fail('the body closed before its end');
    };
    const onResClose = () => {
      // 'close' after 'finish' is the normal end of a response; before it, the viewer went away.
      if (!res.writableFinished) fail('the viewer closed the connection before the body was sent');
    };
    const onResError = (err: Error) => fail(err.message);
    // Gone before the first byte (the viewer left while a function or the origin ran): its 'close' has passed.
    if (viewerGone(res)) return fail('the viewer closed the connection before the body was sent');
    if (body.destroyed && !body.readableEnded) return fail('the body closed before its end');
    body.on('data', onData);
    body.on('end', onEnd);
    body.on('error', onBodyError);
    body.on('close', onBodyClose);
    res.on('drain', onDrain);
    res.on('close', onResClose);
    res.on('error', onResError);
    if (body.readableEnded) onEnd();
  });
}
function ignore(): void {}

/**
 * The common small response: its whole declared length is already buffered in the body stream (undici parses a
 * small answer's head, body and end in one read, before the edge gets the response). It goes out with the end of
 * the response at once, as a buffered body would: no pump, no listeners, no event-loop turns. This is the proxied
 * path of nearly every request, and the pump's bookkeeping cost more than the bytes themselves (docs/edge.md,
 * "Streaming"). Anything else (a body still arriving, a viewer already gone) takes the pump; undefined then.
 */
function wholeBodyArrived(body: Readable, res: ServerResponse, length: number | undefined): StreamSent | undefined {
  // Paused and never read (readableFlowing null): read() hands over exactly the bytes buffered, all of them.
  if (length === undefined || body.readableLength !== length || body.readableFlowing !== null || body.readableObjectMode) return undefined;
  if (body.destroyed || viewerGone(res)) return undefined;
  const bytes = length === 0 ? undefined : (body.read() as Buffer);
  // Let the stream run to its end (undici's has ended already; a file stream still has to see its EOF and close);
  // an origin that sends more than it declared fails its connection later, and nobody listens to this body then.
  body.on('error', ignore);
  body.resume();
  if (bytes !== undefined) noteStreamedBytes(length);
  res.end(bytes);
  return { bytes: length };
}

/** node:http's response knows it was destroyed; HTTP/2's compatibility response only through its stream. */
function viewerGone(res: ServerResponse): boolean {
  return res.destroyed === true || (res as { stream?: { destroyed: boolean } }).stream?.destroyed === true;
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
