/**
 * The SigV4 / SigV4a canonical request, rebuilt from the raw request exactly as `@smithy/signature-v4` builds it
 * on the client (with `uriEscapePath = true`). Signatures are computed over these bytes, so any difference here
 * turns into a signature mismatch; see AWS's "Create a canonical request" for Signature Version 4.
 */
import { createHash } from 'node:crypto';

/** `encodeURIComponent` plus the RFC 3986 reserved characters it leaves alone. */
export function escapeUri(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * The canonical URI from the raw (still percent-encoded) path: empty and "." segments dropped, ".." pops, then
 * escaped once more. The double encoding is intended: the client signs its already-encoded path the same way.
 */
export function canonicalUri(rawPath: string): string {
  const segments: string[] = [];
  for (const segment of rawPath.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const normalized = `${rawPath.startsWith('/') ? '/' : ''}${segments.join('/')}${segments.length > 0 && rawPath.endsWith('/') ? '/' : ''}`;
  return escapeUri(normalized).replace(/%2F/g, '/');
}

/**
 * Raw query → ordered [name, value] pairs, percent-decoded. A `+` stays a plus (AWS SDKs encode spaces as %20).
 * Throws `URIError` on malformed escapes.
 */
export function parseRawQuery(rawQuery: string): Array<[string, string]> {
  if (rawQuery === '') return [];
  const pairs: Array<[string, string]> = [];
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = eq === -1 ? part : part.slice(0, eq);
    const value = eq === -1 ? '' : part.slice(eq + 1);
    pairs.push([decodeURIComponent(name), decodeURIComponent(value)]);
  }
  return pairs;
}

/** Pairs re-escaped, sorted by name and then by the whole pair, joined with "&"; `X-Amz-Signature` excluded. */
export function canonicalQuery(pairs: Array<[string, string]>): string {
  return pairs
    .filter(([name]) => name.toLowerCase() !== 'x-amz-signature')
    .map(([name, value]) => ({ name: escapeUri(name), pair: `${escapeUri(name)}=${escapeUri(value)}` }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.pair < b.pair ? -1 : a.pair > b.pair ? 1 : 0))
    .map((p) => p.pair)
    .join('&');
}

/**
 * Header values by lower-case name from Node's `rawHeaders` (name, value, name, value…). Repeated headers are
 * joined with "," as the signer does, which Node's parsed `headers` object would not do for every header.
 */
export function collectHeaders(rawHeaders: readonly string[]): Map<string, string> {
  const headers = new Map<string, string>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i].toLowerCase();
    const value = rawHeaders[i + 1].trim().replace(/\s+/g, ' ');
    const previous = headers.get(name);
    headers.set(name, previous === undefined ? value : `${previous},${value}`);
  }
  return headers;
}

export interface CanonicalRequestInput {
  method: string;
  rawPath: string;
  queryPairs: Array<[string, string]>;
  headers: ReadonlyMap<string, string>;
  /** Lower-case names, in the order the Authorization header lists them. */
  signedHeaders: readonly string[];
  payloadHash: string;
}

export function canonicalRequest(input: CanonicalRequestInput): string {
  const headerLines = input.signedHeaders.map((name) => `${name}:${input.headers.get(name) ?? ''}\n`).join('');
  return [
    input.method.toUpperCase(),
    canonicalUri(input.rawPath),
    canonicalQuery(input.queryPairs),
    headerLines,
    input.signedHeaders.join(';'),
    input.payloadHash,
  ].join('\n');
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function stringToSign(algorithm: string, amzDate: string, scope: string, canonical: string): string {
  return `${algorithm}\n${amzDate}\n${scope}\n${sha256Hex(canonical)}`;
}
