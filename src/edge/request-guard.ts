/**
 * What the edge refuses before it looks for a distribution or runs a function: request targets and Host headers
 * that no CloudFront distribution would answer (RFC 9112 §3.2, RFC 9110 §7.2). Each refusal is a 4xx with the
 * edge's error page; a function never sees such a request.
 */
import type { IncomingMessage } from 'node:http';
import type { EdgeErrorCode } from '../errors.js';

/** Longest Host accepted: a DNS name is at most 253 characters, plus ":" and a port. */
export const MAX_HOST_LENGTH = 259;

/** reg-name, IPv4 or a bracketed IPv6 literal, optionally with a port. No userinfo, spaces or paths. */
const HOST_SYNTAX = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]+)(?::[0-9]{1,5})?$/;

export type Admission = { ok: true; host: string | undefined; target: string } | { ok: false; error: EdgeErrorCode; reason: string };

/**
 * The host and origin-form target the request is for. An absolute-form target (`GET http://host/path`) names its
 * own host, which replaces the Host header (RFC 9112 §3.2.2); asterisk-form (`OPTIONS *`) and anything else that
 * is not a path are refused.
 */
export function admitRequest(req: IncomingMessage): Admission {
  const url = req.url ?? '/';
  let host = req.headers.host;
  let target = url;
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
  return { ok: true, host, target };
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
