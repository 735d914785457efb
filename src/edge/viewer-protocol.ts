/**
 * The viewer's scheme as CloudFront treats it: the behavior's `viewerProtocolPolicy` (serve, redirect to HTTPS,
 * or refuse plain HTTP) and the `CloudFront-Forwarded-Proto` header the edge adds when a cache policy names it
 * (docs/edge.md#https).
 */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { CachePolicyConfig, ViewerProtocolPolicy } from '../config/types.js';

export type ViewerScheme = 'http' | 'https';

/** Lowercase, as the cache policy lists it. */
export const FORWARDED_PROTO_HEADER = 'cloudfront-forwarded-proto';

/** TLS connections (HTTP/1.1 or HTTP/2) are https; HTTP/2's compat socket forwards `encrypted` to the TLS socket. */
export function viewerScheme(req: IncomingMessage): ViewerScheme {
  return (req.socket as TLSSocket | undefined)?.encrypted === true ? 'https' : 'http';
}

export type ProtocolAnswer = { kind: 'serve' } | { kind: 'redirect'; status: 301 | 307; location: string } | { kind: 'refuse' };

/**
 * CloudFront's answers for plain HTTP: `redirect-to-https` sends GET and HEAD a 301, other methods a 307 (which
 * keeps method and body) from HTTP/1.1 viewers and a 403 from older ones; `https-only` answers 403. The query string
 * is kept in Location.
 */
export function viewerProtocolAnswer(
  policy: ViewerProtocolPolicy | undefined,
  scheme: ViewerScheme,
  request: { method: string; httpVersion: string; host: string; target: string },
  httpsPort: number | undefined,
): ProtocolAnswer {
  if (scheme === 'https' || policy === undefined || policy === 'allow-all') return { kind: 'serve' };
  if (policy === 'https-only') return { kind: 'refuse' };
  const { method } = request;
  const safe = method === 'GET' || method === 'HEAD';
  if (!safe && request.httpVersion === '1.0') return { kind: 'refuse' };
  const port = httpsPort === undefined || httpsPort === 443 ? '' : `:${httpsPort}`;
  return { kind: 'redirect', status: safe ? 301 : 307, location: `https://${hostWithoutPort(request.host)}${port}${request.target}` };
}

/** Whether the behavior's cache policy asks for CloudFront-Forwarded-Proto (it then enters the key and goes to the origin). */
export function forwardsProto(policy: CachePolicyConfig): boolean {
  return policy.headers.behavior === 'whitelist' && policy.headers.names.includes(FORWARDED_PROTO_HEADER);
}

/** The viewer's headers with CloudFront-Forwarded-Proto set to the real scheme; a value the viewer sent is replaced. */
export function withForwardedProto(headers: Array<[string, string]>, scheme: ViewerScheme): Array<[string, string]> {
  const out = headers.filter(([name]) => name.length !== FORWARDED_PROTO_HEADER.length || name.toLowerCase() !== FORWARDED_PROTO_HEADER);
  out.push(['CloudFront-Forwarded-Proto', scheme]);
  return out;
}

/** The small page CloudFront sends with its redirects. */
export function redirectPage(status: 301 | 307): Buffer {
  const title = status === 301 ? '301 Moved Permanently' : '307 Temporary Redirect';
  return Buffer.from(
    `<html>\n<head><title>${title}</title></head>\n<body>\n<center><h1>${title}</h1></center>\n<hr><center>OpenFront</center>\n</body>\n</html>\n`,
  );
}

function hostWithoutPort(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end === -1 ? host : host.slice(0, end + 1);
  }
  const colon = host.lastIndexOf(':');
  return colon === -1 ? host : host.slice(0, colon);
}
