/**
 * Property-based tests (fast-check, fixed seeds) of the parsers that read what API clients send: the SigV4/SigV4a
 * Authorization header, the canonical request, the whole request verifier, XML bodies and JSON bodies. For any input
 * they return or refuse with the project's own error (an OpenFrontError: AUTH_FAILED for signatures, which the router
 * answers as the API's access-denied error), never anything else; and signing then verifying any request is accepted while any change to it is refused.
 * Inputs are bounded in size, and one test feeds the largest bodies the routes accept: each suite runs in well under
 * a second.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseAuthorization } from '../../src/control/auth/authorization-header.js';
import { canonicalQuery, canonicalRequest, canonicalUri, collectHeaders, parseRawQuery } from '../../src/control/auth/canonical.js';
import { signRequestV4 } from '../../src/control/auth/sign-request.js';
import { authFailureReasonOf, RequestVerifier } from '../../src/control/auth/verify-request.js';
import { parseJsonObject } from '../../src/control/http/json-body.js';
import { parseXmlRequest } from '../../src/control/http/xml.js';
import { isOpenFrontError } from '../../src/errors.js';

const RUNS = { seed: 20261207, numRuns: 300 };
const ACCESS_KEY = { accessKeyId: 'AKIAPROPERTYTEST0000', secretAccessKey: 'property-secret' };
const NOW = new Date('2026-12-07T05:00:00Z');
const verifier = new RequestVerifier({ lookupSecret: (id) => (id === ACCESS_KEY.accessKeyId ? ACCESS_KEY.secretAccessKey : undefined), now: () => NOW });
const EXPECT = { services: ['openfront', 'cloudfront', 'cloudfront-keyvaluestore'], algorithms: ['AWS4-HMAC-SHA256', 'AWS4-ECDSA-P256-SHA256'] } as const;

/** Runs `fn`; anything thrown must be one of the project's errors. */
function onlyOwnErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    assert.ok(isOpenFrontError(err), `threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
  }
}

/** What Node hands us as a URL or header value: latin1 text (one char per byte). */
const latin1 = (maxLength: number) => fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)), maxLength });
const token = fc.stringMatching(/^[a-z0-9-]{1,12}$/);

/** Authorization headers close to valid ones, so parsing gets past the first checks. */
const authorizationHeader = fc
  .record({
    algorithm: fc.oneof(fc.constantFrom('AWS4-HMAC-SHA256', 'AWS4-ECDSA-P256-SHA256', 'AWS4', ''), latin1(20)),
    keyId: fc.oneof(fc.constant(ACCESS_KEY.accessKeyId), latin1(24)),
    scope: fc.array(fc.oneof(fc.constantFrom('20261207', 'us-east-1', 'openfront', 'cloudfront', 'aws4_request', '*', ''), latin1(12)), { maxLength: 6 }),
    signed: fc.array(fc.oneof(fc.constantFrom('host', 'x-amz-date', 'x-amz-content-sha256', 'if-match', 'x-amz-region-set'), latin1(10)), { maxLength: 6 }),
    signature: fc.oneof(fc.stringMatching(/^[0-9a-f]{0,160}$/), latin1(40)),
    separator: fc.constantFrom(', ', ',', ' , ', ';'),
  })
  .map(
    (a) =>
      `${a.algorithm} Credential=${[a.keyId, ...a.scope].join('/')}${a.separator}SignedHeaders=${a.signed.join(';')}${a.separator}Signature=${a.signature}`,
  );

const rawHeaders = fc
  .record({
    authorization: fc.oneof(authorizationHeader, latin1(80)),
    date: fc.oneof(fc.constant('20261207T050000Z'), latin1(20)),
    hash: fc.oneof(
      fc.constantFrom('UNSIGNED-PAYLOAD', 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'),
      latin1(70),
    ),
    extra: fc.array(fc.tuple(token, latin1(30)), { maxLength: 4 }),
    withHash: fc.boolean(),
    withIfMatch: fc.boolean(),
  })
  .map((h) => [
    'host',
    '127.0.0.1:8787',
    'authorization',
    h.authorization,
    'x-amz-date',
    h.date,
    ...(h.withHash ? ['x-amz-content-sha256', h.hash] : []),
    ...(h.withIfMatch ? ['if-match', 'ETAG'] : []),
    ...h.extra.flat(),
  ]);

describe('Authorization header parsing (property)', () => {
  it('never throws on any header text and only returns well-formed parts', () => {
    fc.assert(
      fc.property(fc.oneof(authorizationHeader, latin1(200), fc.string({ maxLength: 200 })), (header) => {
        const parsed = parseAuthorization(header);
        if (parsed !== undefined) {
          assert.ok(parsed.accessKeyId.length > 0);
          assert.equal(parsed.scope.at(-1), 'aws4_request');
          assert.ok(parsed.signedHeaders.length > 0);
        }
      }),
      RUNS,
    );
  });
});

describe('canonical request (property)', () => {
  it('builds a canonical URI, query and request from any raw path and query without throwing anything but URIError on bad escapes', () => {
    fc.assert(
      fc.property(latin1(120), latin1(120), fc.constantFrom('GET', 'PUT', 'POST', 'DELETE', 'X'), (path, query, method) => {
        const uri = canonicalUri(`/${path}`);
        assert.ok(uri.startsWith('/'));
        let pairs: Array<[string, string]>;
        try {
          pairs = parseRawQuery(query);
        } catch (err) {
          assert.ok(err instanceof URIError, String(err));
          return;
        }
        const canonical = canonicalRequest({
          method,
          rawPath: `/${path}`,
          queryPairs: pairs,
          headers: collectHeaders(['host', 'h']),
          signedHeaders: ['host'],
          payloadHash: 'x',
        });
        assert.equal(canonical.split('\n')[2], canonicalQuery(pairs));
      }),
      RUNS,
    );
  });
});

describe('request verification (property)', () => {
  it('refuses any request with near-valid or junk headers only with AUTH_FAILED (head and body phases)', () => {
    fc.assert(
      fc.property(rawHeaders, latin1(60), latin1(40), fc.uint8Array({ maxLength: 64 }), (headers, path, query, body) => {
        onlyOwnErrors(() => verifier.verify({ method: 'POST', rawPath: `/${path}`, rawQuery: query, rawHeaders: headers, body: Buffer.from(body) }, EXPECT));
        onlyOwnErrors(() => {
          const verdict = verifier.verifyHead({ method: 'POST', rawPath: `/${path}`, rawQuery: query, rawHeaders: headers }, EXPECT);
          if (verdict.kind === 'needs-body') verdict.finish('0'.repeat(64));
        });
      }),
      RUNS,
    );
  });

  const signable = fc.record({
    method: fc.constantFrom('GET', 'PUT', 'POST', 'DELETE'),
    segments: fc.array(fc.string({ maxLength: 12 }), { minLength: 1, maxLength: 4 }),
    query: fc.array(fc.tuple(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ maxLength: 8 })), { maxLength: 3 }),
    headers: fc.dictionary(
      token.map((t) => `x-${t}`),
      fc.stringMatching(/^[\x21-\x7e]([\x20-\x7e]{0,20}[\x21-\x7e])?$/),
      { maxKeys: 3 },
    ),
    body: fc.uint8Array({ maxLength: 100 }),
    ifMatch: fc.option(fc.stringMatching(/^[A-Z0-9]{1,16}$/), { nil: undefined }),
  });

  it('accepts whatever the signer signs, and refuses it after any change to path, body, a signed header or If-Match', () => {
    const wellFormed = (s: string) => s.replace(/[\uD800-\uDFFF]/g, '?');
    fc.assert(
      fc.property(signable, fc.nat(3), (r, change) => {
        const rawPath = `/${r.segments.map((s) => encodeURIComponent(wellFormed(s)).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)).join('/')}`;
        const rawQuery = r.query.map(([k, v]) => `${encodeURIComponent(wellFormed(k))}=${encodeURIComponent(wellFormed(v))}`).join('&');
        const body = Buffer.from(r.body);
        const extra = { ...r.headers, ...(r.ifMatch ? { 'if-match': r.ifMatch } : {}) };
        const url = { host: '127.0.0.1:8787', pathname: rawPath, search: rawQuery ? `?${rawQuery}` : '' } as URL;
        const signed = signRequestV4({ method: r.method, url, body, headers: extra, now: NOW, ...ACCESS_KEY });
        const request = { method: r.method, rawPath, rawQuery, rawHeaders: Object.entries(signed).flat(), body };
        assert.deepEqual(verifier.verify(request, EXPECT), { accessKeyId: ACCESS_KEY.accessKeyId });
        const changed =
          change === 0
            ? { ...request, rawPath: `${rawPath}x` }
            : change === 1
              ? { ...request, body: Buffer.concat([body, Buffer.from('x')]) }
              : change === 2
                ? { ...request, rawHeaders: Object.entries({ ...signed, 'x-amz-date': '20261207T050001Z' }).flat() }
                : { ...request, rawHeaders: Object.entries({ ...signed, 'if-match': `${r.ifMatch ?? ''}Z` }).flat() };
        assert.throws(
          () => verifier.verify(changed, EXPECT),
          (err: unknown) => authFailureReasonOf(err) !== undefined,
        );
      }),
      RUNS,
    );
  });
});

/** XML documents built from random trees: names, text with entities, CDATA, comments, declarations. */
const xmlName = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.-]{0,8}$/);
const xmlText = fc.oneof(
  fc.string({ maxLength: 20 }).map((s) => s.replace(/[<&]/g, '')),
  fc.constantFrom('&lt;', '&amp;', '&#65;', '&#x1F600;', '&#0;', '&#xD800;', '&e;', '&', '&amp', ']]>', '<![CDATA[x<y]]>', '<!-- c -->', '&#99999999;'),
);
const xmlTree: fc.Arbitrary<string> = fc.letrec<{ node: string }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    xmlText,
    fc.tuple(xmlName, fc.array(tie('node'), { maxLength: 3 })).map(([name, children]) => `<${name}>${children.join('')}</${name}>`),
  ),
})).node;
const xmlDocument = fc
  .tuple(fc.constantFrom('', '<?xml version="1.0" encoding="UTF-8"?>', '<!DOCTYPE r [<!ENTITY e "x">]>', '<!doctype r>'), xmlTree, fc.boolean())
  .map(([prolog, inner, wrap]) => (wrap ? `${prolog}<Root xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/">${inner}</Root>` : `${prolog}${inner}`));

describe('XML request bodies (property)', () => {
  it('parse or refuse with an OpenFrontError: random trees, random bytes, random text', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          xmlDocument.map((s) => Buffer.from(s)),
          fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
          fc.string({ maxLength: 200 }).map((s) => Buffer.from(s)),
        ),
        (body) => {
          onlyOwnErrors(() => parseXmlRequest(body, 'Root'));
        },
      ),
      RUNS,
    );
  });

  it('never yields the text of a declared entity, and decodes only predefined entities and character references', () => {
    fc.assert(
      fc.property(xmlTree, (inner) => {
        const withDtd = Buffer.from(`<!DOCTYPE Root [<!ENTITY e "EXPANDED">]><Root>${inner}<C>&e;</C></Root>`);
        assert.throws(
          () => parseXmlRequest(withDtd, 'Root'),
          (err) => isOpenFrontError(err) && err.status === 400,
        );
        try {
          assert.doesNotMatch(JSON.stringify(parseXmlRequest(Buffer.from(`<Root>${inner}</Root>`), 'Root')), /EXPANDED/);
        } catch (err) {
          assert.ok(isOpenFrontError(err) && err.status === 400, String(err));
        }
      }),
      RUNS,
    );
  });

  it('handles the largest bodies a route accepts, deeply nested or wide, in one pass', () => {
    for (const body of [
      `<Root>${'<a>'.repeat(20_000)}${'</a>'.repeat(20_000)}</Root>`,
      `<Root>${'<a>x</a>'.repeat(16_000)}</Root>`,
      `<Root><C>${'&amp;'.repeat(25_000)}</C></Root>`,
      `<Root>${'<'.repeat(120_000)}</Root>`,
    ]) {
      onlyOwnErrors(() => parseXmlRequest(Buffer.from(body), 'Root'));
    }
  });
});

describe('JSON request bodies (property)', () => {
  it('parse or refuse with an OpenFrontError (4xx), and keep every JSON object exactly', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.json().map((s) => Buffer.from(s)),
          fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
          fc.string({ maxLength: 200 }).map((s) => Buffer.from(s)),
        ),
        (body) => {
          try {
            const parsed = parseJsonObject(body, 'KVS_VALIDATION');
            assert.deepEqual(parsed, JSON.parse(body.toString('utf8')));
          } catch (err) {
            assert.ok(isOpenFrontError(err) && err.status === 400, String(err));
          }
        },
      ),
      RUNS,
    );
  });

  it('handles deeply nested and very wide documents of route-cap size', () => {
    for (const text of [`${'['.repeat(50_000)}${']'.repeat(50_000)}`, `{"a":${'['.repeat(100_000)}`, `{"k":[${'1,'.repeat(100_000)}1]}`]) {
      onlyOwnErrors(() => parseJsonObject(Buffer.from(text), 'KVS_VALIDATION'));
    }
  });
});
