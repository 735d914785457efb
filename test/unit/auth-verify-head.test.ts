/**
 * The head phase of request verification: what the router can settle before reading a body, and what it leaves
 * for the body's hash.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalRequest, collectHeaders, sha256Hex, stringToSign } from '../../src/control/auth/canonical.js';
import { signRequestV4 } from '../../src/control/auth/sign-request.js';
import { sigV4Signature } from '../../src/control/auth/sigv4.js';
import { RequestVerifier } from '../../src/control/auth/verify-request.js';
import { authFailureReason } from '../helpers/errors.js';

const KEY = { accessKeyId: 'AKIDHEADTEST', secretAccessKey: 'head-test-secret' };
const NOW = new Date('2026-12-07T05:00:00Z');
const verifier = new RequestVerifier({ lookupSecret: (id) => (id === KEY.accessKeyId ? KEY.secretAccessKey : undefined), now: () => NOW });
const EXPECT = { services: ['openfront'], algorithms: ['AWS4-HMAC-SHA256'] } as const;
const url = new URL('http://127.0.0.1:8787/openfront/v1/key-value-stores/s/import');
const BODY = Buffer.from('{"data":[]}');

function head(headers: Record<string, string>) {
  return { method: 'POST', rawPath: url.pathname, rawQuery: '', rawHeaders: Object.entries(headers).flat() };
}

describe('RequestVerifier.verifyHead', () => {
  it('verifies the signature from the head when x-amz-content-sha256 is sent, leaving only the hash to compare', () => {
    const headers = signRequestV4({ method: 'POST', url, body: BODY, now: NOW, ...KEY });
    const verdict = verifier.verifyHead(head(headers), EXPECT);
    assert.equal(verdict.kind, 'verified');
    assert.deepEqual(verdict.kind === 'verified' && verdict.principal, { accessKeyId: KEY.accessKeyId });
    assert.equal(verdict.kind === 'verified' && verdict.payloadHash, sha256Hex(BODY));
  });

  it('refuses from the head alone: no signature, unknown key, unsigned payload, unsigned If-Match, wrong secret', () => {
    const headers = signRequestV4({ method: 'POST', url, body: BODY, now: NOW, ...KEY });
    assert.equal(
      authFailureReason(() => verifier.verifyHead(head({ host: url.host }), EXPECT)),
      'missing-signature',
    );
    const unknown = signRequestV4({ method: 'POST', url, body: BODY, now: NOW, accessKeyId: 'AKIDOTHER', secretAccessKey: 'x' });
    assert.equal(
      authFailureReason(() => verifier.verifyHead(head(unknown), EXPECT)),
      'unknown-access-key',
    );
    assert.equal(
      authFailureReason(() => verifier.verifyHead(head({ ...headers, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' }), EXPECT)),
      'unsigned-payload',
    );
    assert.equal(
      authFailureReason(() => verifier.verifyHead(head({ ...headers, 'if-match': 'KVS1' }), EXPECT)),
      'unsigned-if-match',
    );
    const wrong = signRequestV4({ method: 'POST', url, body: BODY, now: NOW, accessKeyId: KEY.accessKeyId, secretAccessKey: 'wrong' });
    assert.equal(
      authFailureReason(() => verifier.verifyHead(head(wrong), EXPECT)),
      'signature-mismatch',
    );
  });

  it('without x-amz-content-sha256 checks the key from the head and the signature once the body hash is known', () => {
    // What a client that signs the body hash without sending it produces: SignedHeaders host;x-amz-date.
    const date = '20261207T050000Z';
    const headers = collectHeaders(['host', url.host, 'x-amz-date', date]);
    const canonical = canonicalRequest({
      method: 'POST',
      rawPath: url.pathname,
      queryPairs: [],
      headers,
      signedHeaders: ['host', 'x-amz-date'],
      payloadHash: sha256Hex(BODY),
    });
    const scope = '20261207/us-east-1/openfront/aws4_request';
    const signature = sigV4Signature(KEY.secretAccessKey, '20261207', 'us-east-1', 'openfront', stringToSign('AWS4-HMAC-SHA256', date, scope, canonical));
    const authorization = `AWS4-HMAC-SHA256 Credential=${KEY.accessKeyId}/${scope}, SignedHeaders=host;x-amz-date, Signature=${signature}`;
    const verdict = verifier.verifyHead(head({ host: url.host, 'x-amz-date': date, authorization }), EXPECT);
    assert.equal(verdict.kind, 'needs-body');
    if (verdict.kind !== 'needs-body') return;
    assert.deepEqual(verdict.finish(sha256Hex(BODY)), { accessKeyId: KEY.accessKeyId });
    assert.equal(
      authFailureReason(() => verdict.finish(sha256Hex(Buffer.from('other')))),
      'signature-mismatch',
    );
    // An unknown key never gets to the body.
    const stranger = authorization.replace(KEY.accessKeyId, 'AKIDSTRANGER');
    assert.equal(
      authFailureReason(() => verifier.verifyHead(head({ host: url.host, 'x-amz-date': date, authorization: stranger }), EXPECT)),
      'unknown-access-key',
    );
  });
});
