/**
 * The seam between HTTP/2 and the request pipeline, which reads a node:http request and writes a node:http
 * response. node:http2's compatibility API (Http2ServerRequest/Response) has the same members the pipeline uses
 * (method, url, headers, rawHeaders, socket, httpVersion, writeHead, end, headersSent, destroy, and both are
 * streams); two things differ, and this adapter makes them the same so that a function sees one event whatever
 * the protocol:
 *
 * - the request's header list carries the pseudo-headers (`:method`, `:path`, `:scheme`, `:authority`), which must
 *   never reach the event or the origin, and the host is in `:authority` (RFC 9113 §8.3.1) rather than `Host`;
 * - HTTP/2 has no reason phrase: a status text given to writeHead would only raise a process warning.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';

export function adaptHttp2Exchange(req: Http2ServerRequest, res: Http2ServerResponse): { req: IncomingMessage; res: ServerResponse } {
  const raw = req.rawHeaders;
  const headers: string[] = [];
  let host: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.charCodeAt(0) === 58 /* ':' */) continue;
    if (name === 'host') host = raw[i + 1];
    headers.push(name, raw[i + 1] as string);
  }
  const authority = req.authority;
  if (host === undefined && authority !== undefined && authority !== '') {
    // Where an HTTP/1.1 client puts Host: first.
    headers.unshift('host', authority);
    req.headers.host = authority;
  }
  Object.defineProperty(req, 'rawHeaders', { value: headers, enumerable: true });
  const writeHead = res.writeHead.bind(res);
  Object.defineProperty(res, 'writeHead', {
    value: (status: number, message?: string | OutgoingHttpHeaders | string[], more?: OutgoingHttpHeaders | string[]) =>
      typeof message === 'string' || message === undefined ? writeHead(status, more as OutgoingHttpHeaders) : writeHead(status, message as OutgoingHttpHeaders),
  });
  // The pipeline touches only the members listed above, which both APIs share.
  return { req: req as unknown as IncomingMessage, res: res as unknown as ServerResponse };
}

/** Whether a request carries a body: HTTP/2 needs no Content-Length, the stream just does not end with the headers. */
export function http2HasBody(req: IncomingMessage): boolean | undefined {
  if (req.httpVersionMajor !== 2) return undefined;
  return !(req as unknown as Http2ServerRequest).stream.endAfterHeaders;
}
