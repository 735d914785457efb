/**
 * CloudFront's automatic compression (docs/edge.md, "Compression"): with `compress: true` on the behavior and the
 * cache policy's EnableAcceptEncodingGzip / EnableAcceptEncodingBrotli, the viewer's Accept-Encoding is normalised
 * into the cache key and the origin request, and an origin response that qualifies (status, content type, size
 * window, no Content-Encoding of its own) is compressed as it streams into the cache and to the viewer.
 */
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import type { CachePolicyConfig } from '../config/types.js';

/** CloudFront compresses only bodies whose Content-Length lies in this window (bytes, inclusive). */
export const COMPRESS_MIN_BYTES = 1_000;
export const COMPRESS_MAX_BYTES = 10_000_000;

/** Statuses CloudFront compresses. */
const COMPRESSIBLE_STATUSES = new Set([200, 403, 404]);

/** CloudFront's list of compressible content types, exactly. */
export const COMPRESSIBLE_TYPES: ReadonlySet<string> = new Set([
  'application/dash+xml',
  'application/eot',
  'application/font',
  'application/font-sfnt',
  'application/javascript',
  'application/json',
  'application/opentype',
  'application/otf',
  'application/pkcs7-mime',
  'application/protobuf',
  'application/rss+xml',
  'application/truetype',
  'application/ttf',
  'application/vnd.apple.mpegurl',
  'application/vnd.mapbox-vector-tile',
  'application/vnd.ms-fontobject',
  'application/xhtml+xml',
  'application/xml',
  'application/x-font-opentype',
  'application/x-font-truetype',
  'application/x-font-ttf',
  'application/x-httpd-cgi',
  'application/x-javascript',
  'application/x-mpegurl',
  'application/x-opentype',
  'application/x-otf',
  'application/x-perl',
  'application/x-ttf',
  'font/eot',
  'font/opentype',
  'font/otf',
  'font/ttf',
  'image/svg+xml',
  'text/css',
  'text/csv',
  'text/html',
  'text/javascript',
  'text/js',
  'text/plain',
  'text/richtext',
  'text/tab-separated-values',
  'text/xml',
  'text/x-component',
  'text/x-java-source',
  'text/x-script',
  'vnd.apple.mpegurl',
]);

/** The normalised Accept-Encoding: what goes in the cache key and to the origin. */
export type NormalisedEncoding = 'br,gzip' | 'br' | 'gzip';

/** Whether the cache policy's encoding flags are in play (else Accept-Encoding is an ordinary header). */
export function encodingFlagsOn(policy: CachePolicyConfig): boolean {
  return policy.enableAcceptEncodingGzip === true || policy.enableAcceptEncodingBrotli === true;
}

/**
 * CloudFront's normalisation of the viewer's Accept-Encoding under the policy's flags: only `gzip` and `br` survive,
 * in the order `br,gzip`; undefined when none of the enabled ones is offered (the origin then gets `identity`).
 * A token with `q=0` counts as refused (CloudFront documents no q-value handling; this follows RFC 9110 §12.5.3).
 */
export function normaliseAcceptEncoding(values: readonly string[], policy: CachePolicyConfig): NormalisedEncoding | undefined {
  let gzip = false;
  let br = false;
  for (const value of values) {
    for (const part of value.split(',')) {
      const [token, ...params] = part.split(';');
      const name = token.trim().toLowerCase();
      const refused = params.some((p) => /^\s*q\s*=\s*0(\.0{0,3})?\s*$/i.test(p));
      if (name === 'gzip' && !refused) gzip = true;
      else if (name === 'br' && !refused) br = true;
    }
  }
  gzip &&= policy.enableAcceptEncodingGzip === true;
  br &&= policy.enableAcceptEncodingBrotli === true;
  return br && gzip ? 'br,gzip' : br ? 'br' : gzip ? 'gzip' : undefined;
}

/** The media type of a Content-Type value, lowercase, without parameters. */
function mediaType(value: string): string {
  const semicolon = value.indexOf(';');
  return (semicolon === -1 ? value : value.slice(0, semicolon)).trim().toLowerCase();
}

/** Whether CloudFront would compress this origin response (status, Content-Encoding, Content-Type, Content-Length). */
export function compressible(status: number, headers: ReadonlyArray<readonly [string, string]>): boolean {
  if (!COMPRESSIBLE_STATUSES.has(status)) return false;
  let type: string | undefined;
  let length: string | undefined;
  for (const [name, value] of headers) {
    const lower = name.toLowerCase();
    if (lower === 'content-encoding') return false;
    if (lower === 'content-type') type = value;
    else if (lower === 'content-length') {
      if (length !== undefined && length !== value) return false;
      length = value;
    }
  }
  if (type === undefined || !COMPRESSIBLE_TYPES.has(mediaType(type))) return false;
  if (length === undefined || !/^\s*\d{1,15}\s*$/.test(length)) return false;
  const bytes = Number(length);
  return bytes >= COMPRESS_MIN_BYTES && bytes <= COMPRESS_MAX_BYTES;
}

/** CloudFront's ETag conversion for a compressed body: strong becomes weak, weak stays, anything else goes. */
export function compressedEtag(etag: string): string | undefined {
  if (etag.startsWith('W/')) return etag;
  if (etag.startsWith('"')) return `W/${etag}`;
  return undefined;
}

/**
 * The compressed response: the body piped through node:zlib (brotli when the viewer offers it, as CloudFront),
 * Content-Length dropped (the body is sent chunked), Content-Encoding set, ETag converted, `Vary: Accept-Encoding`
 * added so downstream caches keep the encodings apart.
 */
export function compressResponse(
  headers: ReadonlyArray<readonly [string, string]>,
  body: Readable,
  encoding: NormalisedEncoding,
): { headers: Array<[string, string]>; body: Readable } {
  const coding = encoding === 'gzip' ? 'gzip' : 'br';
  const out: Array<[string, string]> = [];
  let vary: string | undefined;
  let length = 0;
  for (const [name, value] of headers) {
    const lower = name.toLowerCase();
    if (lower === 'content-length') {
      length = Number(value);
      continue;
    }
    if (lower === 'etag') {
      const converted = compressedEtag(value.trim());
      if (converted !== undefined) out.push([name, converted]);
      continue;
    }
    if (lower === 'vary') {
      vary = vary === undefined ? value : `${vary}, ${value}`;
      continue;
    }
    out.push([name, value]);
  }
  out.push(['content-encoding', coding]);
  const varies = vary !== undefined && vary.split(',').some((v) => v.trim().toLowerCase() === 'accept-encoding');
  out.push(['vary', vary === undefined ? 'Accept-Encoding' : varies ? vary : `${vary}, Accept-Encoding`]);
  const compressor =
    coding === 'gzip'
      ? zlib.createGzip()
      : zlib.createBrotliCompress({ params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: length } });
  // A failing origin body fails the compressed one, so the viewer sees a cut message, never a short complete one.
  body.on('error', (err) => compressor.destroy(err));
  compressor.on('close', () => {
    if (!body.destroyed && !body.readableEnded) body.destroy();
  });
  return { headers: out, body: body.pipe(compressor) };
}
