/**
 * A SigV4 signer for OpenFront's native JSON API, whose operations no AWS SDK client knows. It produces the same
 * canonical form as `@smithy/signature-v4`, so the server verifies it with the same code as SDK requests.
 */
import { canonicalRequest, collectHeaders, parseRawQuery, sha256Hex, stringToSign } from './canonical.js';
import { SIGV4_ALGORITHM, sigV4Signature } from './sigv4.js';

/** Signing name of the native API in the credential scope. */
export const NATIVE_SIGNING_SERVICE = 'openfront';

export interface SignV4Input {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  body?: Buffer;
  accessKeyId: string;
  secretAccessKey: string;
  region?: string;
  service?: string;
  now?: Date;
}

function amzDate(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/** Returns the headers to send (the given ones plus host, x-amz-date, x-amz-content-sha256, authorization). */
export function signRequestV4(input: SignV4Input): Record<string, string> {
  const body = input.body ?? Buffer.alloc(0);
  const date = amzDate(input.now ?? new Date());
  const region = input.region ?? 'us-east-1';
  const service = input.service ?? NATIVE_SIGNING_SERVICE;
  const headers: Record<string, string> = {
    ...Object.fromEntries(Object.entries(input.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
    host: input.url.host,
    'x-amz-date': date,
    'x-amz-content-sha256': sha256Hex(body),
  };
  const signedHeaders = Object.keys(headers).sort();
  const scope = `${date.slice(0, 8)}/${region}/${service}/aws4_request`;
  const canonical = canonicalRequest({
    method: input.method,
    rawPath: input.url.pathname,
    queryPairs: parseRawQuery(input.url.search.replace(/^\?/, '')),
    headers: collectHeaders(Object.entries(headers).flat()),
    signedHeaders,
    payloadHash: headers['x-amz-content-sha256'],
  });
  const signature = sigV4Signature(input.secretAccessKey, date.slice(0, 8), region, service, stringToSign(SIGV4_ALGORITHM, date, scope, canonical));
  headers.authorization = `${SIGV4_ALGORITHM} Credential=${input.accessKeyId}/${scope}, SignedHeaders=${signedHeaders.join(';')}, Signature=${signature}`;
  return headers;
}
