/**
 * The signed debug header of `openfront explain` (docs/observability.md, "explain"). A viewer request that carries
 * `x-openfront-debug: <SigV4 Authorization value>` and `x-openfront-debug-date: <x-amz-date>` signed by an active
 * access key gets its decision back from the edge. The signature covers the method, path, query and Host under the
 * signing name "openfront-debug", so an API signature cannot be replayed as a debug one; it is checked by the same
 * verifier as API calls (same keys, same 15-minute skew). The body is not covered (the edge streams it to the
 * origin unread); the debug header only changes what the caller gets back, never what the edge does.
 *
 * Anything less than a valid signature — no date, a bad or expired signature, a revoked key — leaves the request an
 * ordinary viewer request: the headers are passed on like any other and nothing is revealed.
 */
import { sha256Hex } from './canonical.js';
import { signRequestV4 } from './sign-request.js';
import { SIGV4_ALGORITHM } from './sigv4.js';
import { authFailureReasonOf, type Principal, type RequestVerifier } from './verify-request.js';

export const DEBUG_HEADER = 'x-openfront-debug';
export const DEBUG_DATE_HEADER = 'x-openfront-debug-date';
export const DEBUG_SIGNING_SERVICE = 'openfront-debug';

const EMPTY_BODY = Buffer.alloc(0);
const EMPTY_BODY_HASH = sha256Hex(EMPTY_BODY);
/** A well-formed Authorization value is far shorter; anything longer is not worth parsing. */
const MAX_DEBUG_HEADER_LENGTH = 2048;

/** The two headers `openfront explain` adds to its request to `url`. */
export function signDebugHeaders(input: { method: string; url: URL; accessKeyId: string; secretAccessKey: string; now?: Date }): Record<string, string> {
  const signed = signRequestV4({ ...input, body: EMPTY_BODY, service: DEBUG_SIGNING_SERVICE });
  return { [DEBUG_HEADER]: signed.authorization, [DEBUG_DATE_HEADER]: signed['x-amz-date'] };
}

/** Whether a viewer request carries the debug header at all (cheap: no crypto). */
export function hasDebugHeader(rawHeaders: readonly string[]): boolean {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i];
    if (name.length === DEBUG_HEADER.length && name.toLowerCase() === DEBUG_HEADER) return true;
  }
  return false;
}

/** The verified caller of a debug request, or undefined when the request is not a valid signed debug request. */
export function verifyDebugRequest(
  verifier: RequestVerifier,
  request: { method: string; target: string; rawHeaders: readonly string[] },
): Principal | undefined {
  let authorization: string | undefined;
  let date: string | undefined;
  let host: string | undefined;
  for (let i = 0; i + 1 < request.rawHeaders.length; i += 2) {
    const name = request.rawHeaders[i].toLowerCase();
    const value = request.rawHeaders[i + 1];
    // A repeated debug header is ambiguous: refuse it rather than guess which one was meant.
    if (name === DEBUG_HEADER) authorization = authorization === undefined ? value : '';
    else if (name === DEBUG_DATE_HEADER) date = date === undefined ? value : '';
    else if (name === 'host') host = value;
  }
  if (!authorization || !date || host === undefined || authorization.length > MAX_DEBUG_HEADER_LENGTH || date.length > 32) return undefined;
  const q = request.target.indexOf('?');
  try {
    return verifier.verify(
      {
        method: request.method,
        rawPath: q === -1 ? request.target : request.target.slice(0, q),
        rawQuery: q === -1 ? '' : request.target.slice(q + 1),
        rawHeaders: ['host', host, 'x-amz-date', date, 'x-amz-content-sha256', EMPTY_BODY_HASH, 'authorization', authorization],
        body: EMPTY_BODY,
      },
      { services: [DEBUG_SIGNING_SERVICE], algorithms: [SIGV4_ALGORITHM] },
    );
  } catch (err) {
    if (authFailureReasonOf(err) !== undefined) return undefined;
    throw err;
  }
}
