import assert from 'node:assert/strict';
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { SignatureV4a } from '@aws-sdk/signature-v4a';
import { deriveSigV4aPrivateKey } from '../../src/control/auth/sigv4a.js';
import { RequestVerifier, type SignedRequest } from '../../src/control/auth/verify-request.js';
import { authFailureReason } from '../helpers/errors.js';

const ACCESS_KEY_ID = 'AKIDEXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
const ARN_PATH = '/key-value-stores/arn%3Aaws%3Acloudfront%3A%3A123456789012%3Akey-value-store%2F0123abcd-0000-4000-8000-000000000000';
const KVS = { services: ['cloudfront-keyvaluestore'], algorithms: ['AWS4-ECDSA-P256-SHA256', 'AWS4-HMAC-SHA256'] } as const;

type SourceData = string | ArrayBuffer | ArrayBufferView;

function toBytes(data: SourceData): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

/** The hash constructor shape the smithy signers take, on node:crypto. */
class NodeSha256 {
  readonly #hash: Hash | Hmac;
  constructor(secret?: SourceData) {
    this.#hash = secret === undefined ? createHash('sha256') : createHmac('sha256', toBytes(secret));
  }
  update(data: SourceData): void {
    this.#hash.update(toBytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#hash.digest());
  }
}

/** Signs with the SDK's own SigV4a signer and returns what the server would receive. */
async function sdkSigned(options: {
  secret?: string;
  body?: string;
  path?: string;
  query?: Record<string, string>;
  regionSet?: string;
  now: Date;
}): Promise<SignedRequest> {
  const signer = new SignatureV4a({
    credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: options.secret ?? SECRET },
    region: options.regionSet ?? '*',
    service: 'cloudfront-keyvaluestore',
    sha256: NodeSha256,
  });
  const body = options.body ?? '';
  const path = options.path ?? `${ARN_PATH}/keys/some%20key%2Fwith%3Aodd`;
  const request = await signer.sign(
    {
      method: body ? 'PUT' : 'GET',
      protocol: 'http:',
      hostname: '123456789012.localhost',
      port: 8787,
      path,
      query: options.query ?? {},
      headers: {
        host: '123456789012.localhost:8787',
        'x-amz-content-sha256': createHash('sha256').update(body).digest('hex'),
        ...(body ? { 'content-type': 'application/json', 'if-match': 'KV0000000000001' } : {}),
      },
      body,
    },
    { signingDate: options.now },
  );
  const rawQuery = Object.entries(options.query ?? {})
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
  return {
    method: request.method,
    rawPath: path,
    rawQuery,
    rawHeaders: (Object.entries(request.headers) as Array<[string, string]>).flat(),
    body: Buffer.from(body),
  };
}

const reasonOf = authFailureReason;

describe('SigV4a verification', () => {
  const now = new Date('2026-11-27T20:12:43Z');
  const verifier = new RequestVerifier({ lookupSecret: (id) => (id === ACCESS_KEY_ID ? SECRET : undefined), now: () => now });

  it('derives the private key the wire-protocol notes record for the AWS example key', () => {
    const d = deriveSigV4aPrivateKey(ACCESS_KEY_ID, SECRET).toString('hex');
    assert.equal(d.length, 64);
    assert.ok(d.startsWith('7efc8c0e') && d.endsWith('259c'), d);
  });

  it('verifies requests signed by @aws-sdk/signature-v4a (GET with query, PUT with body)', async () => {
    const get = await sdkSigned({ now, path: `${ARN_PATH}/keys`, query: { MaxResults: '2', NextToken: 'tok+/=1' } });
    assert.match(get.rawHeaders.join(' '), /AWS4-ECDSA-P256-SHA256/);
    assert.deepEqual(verifier.verify(get, KVS), { accessKeyId: ACCESS_KEY_ID });
    const put = await sdkSigned({ now, body: '{"Value":"v1"}' });
    assert.deepEqual(verifier.verify(put, KVS), { accessKeyId: ACCESS_KEY_ID });
  });

  it('verifies dot-segment keys, whose canonical path the signer normalises', async () => {
    for (const key of ['.', '..']) {
      const request = await sdkSigned({ now, path: `${ARN_PATH}/keys/${key}` });
      assert.equal(
        reasonOf(() => verifier.verify(request, KVS)),
        'accepted',
      );
    }
  });

  it('rejects a wrong secret, a tampered path, a tampered body and a region set without this server', async () => {
    const wrongSecret = await sdkSigned({ now, secret: 'wrong-secret-wrong-secret-wrong-secret00' });
    assert.equal(
      reasonOf(() => verifier.verify(wrongSecret, KVS)),
      'signature-mismatch',
    );
    const good = await sdkSigned({ now, body: '{"Value":"v1"}' });
    assert.equal(
      reasonOf(() => verifier.verify({ ...good, rawPath: good.rawPath.replace('odd', 'odd2') }, KVS)),
      'signature-mismatch',
    );
    assert.equal(
      reasonOf(() => verifier.verify({ ...good, body: Buffer.from('{"Value":"v2"}') }, KVS)),
      'payload-hash-mismatch',
    );
    const elsewhere = await sdkSigned({ now, regionSet: 'eu-west-1' });
    assert.equal(
      reasonOf(() => verifier.verify(elsewhere, KVS)),
      'region-set-mismatch',
    );
  });

  it('rejects a request signed more than 15 minutes ago', async () => {
    const old = await sdkSigned({ now: new Date(now.getTime() - 16 * 60_000) });
    assert.equal(
      reasonOf(() => verifier.verify(old, KVS)),
      'request-expired',
    );
  });
});
