/**
 * Revalidation of an expired cached copy with the origin, as CloudFront does (docs/edge.md, "Revalidation"): the
 * conditional GET carries the copy's validators, and a 304 refreshes the copy's stored headers (RFC 9111 §4.3.4,
 * §3.2) instead of bringing the body again.
 */
import { headerValue } from './conditional.js';

/** Viewer headers that are not sent with a revalidation: the copy answers them afterwards, as on a hit. */
const VIEWER_CONDITIONS = new Set(['if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'if-range', 'range', 'request-range']);

/**
 * Headers of a 304 that never replace the stored ones (RFC 9111 §3.2): they describe the stored body or the
 * connection, not the representation's metadata.
 */
const NOT_UPDATED = new Set([
  'content-length',
  'content-encoding',
  'content-range',
  'content-type',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'te',
  'trailer',
  'upgrade',
  'proxy-connection',
]);

/**
 * Most header bytes a revalidated copy may keep (names, values, 4 bytes each for ": " and CRLF): what one origin
 * response may carry (undici's default maxHeaderSize, 16 KiB). 304s that each add new header names would otherwise
 * grow a copy's headers without end; a 304 that would pass this is not used (the object is fetched again).
 */
export const MAX_STORED_HEADER_BYTES = 16 * 1024;

export function headerBytes(headers: ReadonlyArray<readonly [string, string]>): number {
  let bytes = 0;
  for (const [name, value] of headers) bytes += name.length + value.length + 4;
  return bytes;
}

/** Whether a stored response can be revalidated: it has an ETag or a Last-Modified. */
export function hasValidator(stored: ReadonlyArray<readonly [string, string]>): boolean {
  for (const [name] of stored) {
    const lower = name.toLowerCase();
    if (lower === 'etag' || lower === 'last-modified') return true;
  }
  return false;
}

/** The origin request's headers for a revalidation: the viewer's own conditions out, the copy's validators in. */
export function revalidationHeaders(origin: ReadonlyArray<[string, string]>, stored: ReadonlyArray<readonly [string, string]>): Array<[string, string]> {
  const out = origin.filter(([name]) => !VIEWER_CONDITIONS.has(name.toLowerCase()));
  const etag = headerValue(stored, 'etag');
  const lastModified = headerValue(stored, 'last-modified');
  if (etag !== undefined) out.push(['if-none-match', etag]);
  if (lastModified !== undefined) out.push(['if-modified-since', lastModified]);
  return out;
}

function opaque(tag: string): string {
  const t = tag.trim();
  return t.startsWith('W/') ? t.slice(2) : t;
}

/**
 * Whether a 304 is about the stored copy: it names no ETag, or the copy's (RFC 9111 §4.3.4 selects the stored
 * response by its validator; a 304 for another one leaves the copy unusable).
 */
export function notModifiedMatches(stored: ReadonlyArray<readonly [string, string]>, notModified: ReadonlyArray<readonly [string, string]>): boolean {
  const fresh = headerValue(notModified, 'etag');
  if (fresh === undefined) return true;
  const mine = headerValue(stored, 'etag');
  return mine !== undefined && opaque(mine) === opaque(fresh);
}

/**
 * The stored headers updated from a 304 (RFC 9111 §3.2): every header the 304 carries replaces all stored ones of
 * that name, except those that describe the stored body or the connection; the rest are kept as stored. The
 * stored `Age` goes whatever the 304 says: the copy is now as old as the 304 makes it, not as it was when stored.
 */
export function updatedHeaders(stored: ReadonlyArray<[string, string]>, notModified: ReadonlyArray<readonly [string, string]>): Array<[string, string]> {
  const replaced = new Set<string>(['age']);
  const added: Array<[string, string]> = [];
  for (const [name, value] of notModified) {
    const lower = name.toLowerCase();
    if (NOT_UPDATED.has(lower)) continue;
    replaced.add(lower);
    added.push([name, value]);
  }
  return [...stored.filter(([name]) => !replaced.has(name.toLowerCase())), ...added];
}
