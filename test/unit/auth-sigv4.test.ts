import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalUri, canonicalQuery, parseRawQuery } from '../../src/control/auth/canonical.js';
import { signRequestV4 } from '../../src/control/auth/sign-request.js';
import { RequestVerifier, type SignedRequest } from '../../src/control/auth/verify-request.js';
import { authFailureReason } from '../helpers/errors.js';

const ACCESS_KEY_ID = 'AKIDEXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';

function verifierAt(now: Date, secrets: Record<string, string> = { [ACCESS_KEY_ID]: SECRET }): RequestVerifier {
  return new RequestVerifier({ lookupSecret: (id) => secrets[id], now: () => now });
}

const anyService = { services: ['service', 'openfront'], algorithms: ['AWS4-HMAC-SHA256'] } as const;

const reasonOf = authFailureReason;

/** A request signed by our own signer, as raw pieces the server would see. */
function signed(options: { method?: string; path?: string; body?: string; now: Date; secret?: string; headers?: Record<string, string> }): SignedRequest {
  const url = new URL(`http://127.0.0.1:8787${options.path ?? '/openfront/v1/audit?limit=5&key=a%20b'}`);
  const body = Buffer.from(options.body ?? '');
  const headers = signRequestV4({
    method: options.method ?? 'GET',
    url,
    body,
    headers: options.headers,
    accessKeyId: ACCESS_KEY_ID,
    secretAccessKey: options.secret ?? SECRET,
    now: options.now,
  });
  return { method: options.method ?? 'GET', rawPath: url.pathname, rawQuery: url.search.slice(1), rawHeaders: Object.entries(headers).flat(), body };
}

describe('SigV4 verification', () => {
  it('accepts the AWS SigV4 test-suite vector get-vanilla', () => {
    const request: SignedRequest = {
      method: 'GET',
      rawPath: '/',
      rawQuery: '',
      rawHeaders: [
        'Host',
        'example.amazonaws.com',
        'X-Amz-Date',
        '20150830T123600Z',
        'Authorization',
        'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
      ],
      body: Buffer.alloc(0),
    };
    const verifier = verifierAt(new Date('2015-08-30T12:36:00Z'));
    assert.deepEqual(verifier.verify(request, anyService), { accessKeyId: ACCESS_KEY_ID });
    const tampered = { ...request, rawPath: '/x' };
    assert.equal(
      reasonOf(() => verifier.verify(tampered, anyService)),
      'signature-mismatch',
    );
  });

  it('round-trips a signed request with a body and a query', () => {
    const now = new Date('2026-01-02T03:04:05Z');
    const request = signed({
      method: 'POST',
      path: '/openfront/v1/key-value-stores/s/import?mode=merge',
      body: '{"data":[]}',
      now,
      headers: { 'content-type': 'application/json' },
    });
    assert.deepEqual(verifierAt(now).verify(request, anyService), { accessKeyId: ACCESS_KEY_ID });
  });

  it('rejects a wrong secret, an unknown key, a changed body and a missing header', () => {
    const now = new Date('2026-01-02T03:04:05Z');
    assert.equal(
      reasonOf(() => verifierAt(now).verify(signed({ now, secret: 'not-the-secret' }), anyService)),
      'signature-mismatch',
    );
    assert.equal(
      reasonOf(() => verifierAt(now, {}).verify(signed({ now }), anyService)),
      'unknown-access-key',
    );
    const request = signed({ method: 'PUT', body: 'original', now });
    assert.equal(
      reasonOf(() => verifierAt(now).verify({ ...request, body: Buffer.from('changed') }, anyService)),
      'payload-hash-mismatch',
    );
    const unsigned = { ...request, rawHeaders: request.rawHeaders.slice(0, -2) };
    assert.equal(
      reasonOf(() => verifierAt(now).verify(unsigned, anyService)),
      'missing-signature',
    );
  });

  it('allows 15 minutes of clock skew either way, and no more', () => {
    const signedAt = new Date('2026-01-02T03:04:05Z');
    const request = signed({ now: signedAt });
    const at = (minutes: number) => verifierAt(new Date(signedAt.getTime() + minutes * 60_000));
    assert.equal(
      reasonOf(() => at(14.9).verify(request, anyService)),
      'accepted',
    );
    assert.equal(
      reasonOf(() => at(-14.9).verify(request, anyService)),
      'accepted',
    );
    assert.equal(
      reasonOf(() => at(15.1).verify(request, anyService)),
      'request-expired',
    );
    assert.equal(
      reasonOf(() => at(-15.1).verify(request, anyService)),
      'request-expired',
    );
  });

  it('checks the scope service and algorithm against what the route accepts', () => {
    const now = new Date('2026-01-02T03:04:05Z');
    const request = signed({ now });
    assert.equal(
      reasonOf(() => verifierAt(now).verify(request, { services: ['cloudfront'], algorithms: ['AWS4-HMAC-SHA256'] })),
      'wrong-service',
    );
    assert.equal(
      reasonOf(() => verifierAt(now).verify(request, { services: ['openfront'], algorithms: ['AWS4-ECDSA-P256-SHA256'] })),
      'unsupported-algorithm',
    );
  });

  it('refuses UNSIGNED-PAYLOAD', () => {
    const now = new Date('2026-01-02T03:04:05Z');
    const request = signed({ now });
    const headers = [...request.rawHeaders];
    headers[headers.indexOf('x-amz-content-sha256') + 1] = 'UNSIGNED-PAYLOAD';
    assert.equal(
      reasonOf(() => verifierAt(now).verify({ ...request, rawHeaders: headers }, anyService)),
      'unsigned-payload',
    );
  });
});

describe('canonical form', () => {
  it('double-encodes path segments and normalises dot segments like @smithy/signature-v4', () => {
    assert.equal(canonicalUri('/key-value-stores/arn%3Aaws%3Acloudfront/keys/a%2Fb'), '/key-value-stores/arn%253Aaws%253Acloudfront/keys/a%252Fb');
    assert.equal(canonicalUri('/keys/.'), '/keys');
    assert.equal(canonicalUri('/a/keys/..'), '/a');
    assert.equal(canonicalUri('/'), '/');
  });

  it('sorts query pairs by name then value and re-escapes them', () => {
    assert.equal(canonicalQuery(parseRawQuery('b=2&a=z&a=y&NextToken=tok%2B%2F%3D1')), 'NextToken=tok%2B%2F%3D1&a=y&a=z&b=2');
    assert.equal(canonicalQuery(parseRawQuery('a-b=1&a=2')), 'a=2&a-b=1');
    assert.throws(() => parseRawQuery('a=%E0%A4%A'), URIError);
  });
});
