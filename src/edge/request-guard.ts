/**
 * What the edge refuses before it looks for a distribution or runs a function: requests larger than CloudFront's
 * viewer limits, request targets and Host headers that no CloudFront distribution would answer (RFC 9112 §3.2,
 * RFC 9110 §7.2), and a GET with a body. Each refusal is a 4xx with the edge's error page; a function never sees
 * such a request. The limits and their statuses are listed in docs/edge.md ("Viewer limits").
 */
import type { IncomingMessage } from 'node:http';
import type { EdgeErrorCode } from '../errors.js';

/** CloudFront's viewer request limits (docs/edge.md, "Viewer limits"). */
export const VIEWER_LIMITS = {
  /**
   * Request line plus headers (cookies included), body excluded: CloudFront answers 413 and closes the connection.
   * node:http's `maxHeaderSize` stops reading at about this size (it counts names, values and the request line but
   * not the separators); the exact count, separators included, is made here.
   */
  requestHeadBytes: 20_480,
  /** The URL CloudFront builds from the request (scheme, host, path and query): 413 and the connection closed. */
  urlBytes: 8_192,
} as const;

/** The methods a CloudFront distribution serves (AllowedMethods at its widest); node:http parses more (TRACE, PROPFIND, …). */
const CLOUDFRONT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'POST', 'PATCH', 'DELETE']);

/** Longest Host accepted: a DNS name is at most 253 characters, plus ":" and a port. */
export const MAX_HOST_LENGTH = 259;

/** reg-name, IPv4 or a bracketed IPv6 literal, optionally with a port. No userinfo, spaces or paths. */
const HOST_SYNTAX = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]+)(?::[0-9]{1,5})?$/;

export type Admission =
  | { ok: true; host: string | undefined; target: string }
  /** `close`: the connection is closed after the answer, as CloudFront does for oversize requests. */
  | { ok: false; error: EdgeErrorCode; reason: string; close?: boolean };

/**
 * The host and origin-form target the request is for. An absolute-form target (`GET http://host/path`) names its
 * own host, which replaces the Host header (RFC 9112 §3.2.2); asterisk-form (`OPTIONS *`) and anything else that
 * is not a path are refused.
 */
export function admitRequest(req: IncomingMessage): Admission {
  const url = req.url ?? '/';
  let host = req.headers.host;
  let target = url;
  const headBytes = requestHeadBytes(req);
  if (headBytes > VIEWER_LIMITS.requestHeadBytes) {
    return {
      ok: false,
      error: 'EDGE_REQUEST_TOO_LARGE',
      reason: `the request line and headers are ${headBytes} bytes; the limit is ${VIEWER_LIMITS.requestHeadBytes}`,
      close: true,
    };
  }
  if (!CLOUDFRONT_METHODS.has(req.method ?? ''))
    return { ok: false, error: 'EDGE_METHOD_NOT_ALLOWED', reason: `method ${req.method ?? '?'} is not one CloudFront serves` };
  if (url.charCodeAt(0) !== 47 /* '/' */) {
    if (url === '*') return refuse('asterisk-form request target (OPTIONS *) is not served by a distribution');
    const absolute = /^https?:\/\/([^/?#]*)/i.exec(url);
    if (absolute === null) return refuse('the request target is neither a path nor an absolute http(s) URL');
    host = absolute[1] as string;
    const rest = url.slice(absolute[0].length);
    if (rest.startsWith('#')) return refuse('the request target has a fragment');
    target = rest === '' ? '/' : rest.startsWith('?') ? `/${rest}` : rest;
  }
  if (hostHeaderCount(req.rawHeaders) > 1) return refuse('more than one Host header');
  if (host !== undefined) {
    if (host.length > MAX_HOST_LENGTH) return refuse(`Host is ${host.length} characters; the limit is ${MAX_HOST_LENGTH}`);
    if (!HOST_SYNTAX.test(host)) return refuse('Host is not a host name, IPv4 or [IPv6] address with an optional port');
  }
  // "https://" is the longer scheme: the URL is counted as CloudFront would build it for either.
  const urlBytes = 8 + Buffer.byteLength(host ?? '') + Buffer.byteLength(target);
  if (urlBytes > VIEWER_LIMITS.urlBytes) {
    return { ok: false, error: 'EDGE_REQUEST_TOO_LARGE', reason: `the URL is ${urlBytes} bytes; the limit is ${VIEWER_LIMITS.urlBytes}`, close: true };
  }
  if (req.method === 'GET' && hasBody(req)) return { ok: false, error: 'EDGE_GET_WITH_BODY', reason: 'a GET request has a body', close: true };
  return { ok: true, host, target };
}

/**
 * The raw answer to a request node:http could not parse (its `clientError` event): 413 when the request line and
 * headers exceed {@link VIEWER_LIMITS.requestHeadBytes}, 400 otherwise. The connection is closed either way.
 */
export function clientErrorStatus(err: NodeJS.ErrnoException): 400 | 413 {
  return err.code === 'HPE_HEADER_OVERFLOW' ? 413 : 400;
}

/** Bytes of the request line and header block as sent (`Name: value\r\n` each, the blank line included). */
function requestHeadBytes(req: IncomingMessage): number {
  // node:http decodes the head as latin1, so a string's length is its byte count.
  let bytes = (req.method ?? 'GET').length + 1 + (req.url ?? '/').length + 11 /* ' HTTP/1.1\r\n' */ + 2;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) bytes += (raw[i] as string).length + (raw[i + 1] as string).length + 4;
  return bytes;
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function refuse(reason: string): Admission {
  return { ok: false, error: 'EDGE_BAD_REQUEST', reason };
}

function hostHeaderCount(raw: string[]): number {
  let count = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 4 && name.toLowerCase() === 'host') count++;
  }
  return count;
}
