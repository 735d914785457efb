/** CloudFront's compression rules (docs/edge.md, "Compression"): encodings, types, size window, ETags. */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { describe, it } from 'node:test';
import zlib from 'node:zlib';
import type { CachePolicyConfig } from '../../src/config/types.js';
import { COMPRESSIBLE_TYPES, compressedEtag, compressible, compressResponse, normaliseAcceptEncoding } from '../../src/edge/compress.js';

const none = { behavior: 'none' as const, names: [] };
const policy = (gzip: boolean, br: boolean): CachePolicyConfig => ({
  name: 'p',
  minTtl: 1,
  defaultTtl: 100,
  maxTtl: 1000,
  headers: none,
  cookies: none,
  queryStrings: none,
  enableAcceptEncodingGzip: gzip,
  enableAcceptEncodingBrotli: br,
});

describe('compression: Accept-Encoding normalisation (CloudFront §1.2 table)', () => {
  const cases: Array<[boolean, boolean, string[], string | undefined]> = [
    [true, true, ['gzip, deflate, br'], 'br,gzip'],
    [true, true, ['gzip'], 'gzip'],
    [true, true, ['br'], 'br'],
    [true, true, ['deflate, identity'], undefined],
    [true, false, ['br, gzip'], 'gzip'],
    [true, false, ['br'], undefined],
    [false, true, ['gzip, br'], 'br'],
    [false, true, ['gzip'], undefined],
    [false, false, ['gzip, br'], undefined],
    [true, true, ['GZIP;q=0.8', 'Br'], 'br,gzip'],
    [true, true, ['gzip;q=0, br'], 'br'],
  ];
  for (const [gzip, br, offered, expected] of cases) {
    it(`gzip ${gzip}, brotli ${br}, viewer "${offered.join(' | ')}" → ${expected ?? '(not in key)'}`, () => {
      assert.equal(normaliseAcceptEncoding(offered, policy(gzip, br)), expected);
    });
  }
});

describe('compression: what qualifies', () => {
  const html = (length: number | undefined, extra: Array<[string, string]> = []): Array<[string, string]> => [
    ['content-type', 'text/html; charset=utf-8'],
    ...(length === undefined ? [] : ([['content-length', String(length)]] as Array<[string, string]>)),
    ...extra,
  ];
  it("holds CloudFront's 46 content types", () => {
    assert.equal(COMPRESSIBLE_TYPES.size, 46);
  });
  it('compresses 1,000 to 10,000,000 bytes and nothing outside that window', () => {
    assert.equal(compressible(200, html(999)), false);
    assert.equal(compressible(200, html(1_000)), true);
    assert.equal(compressible(200, html(10_000_000)), true);
    assert.equal(compressible(200, html(10_000_001)), false);
    assert.equal(compressible(200, html(undefined)), false, 'no Content-Length: not compressed');
    assert.equal(compressible(200, html(NaN)), false);
  });
  it('compresses only 200, 403 and 404', () => {
    assert.deepEqual(
      [200, 206, 301, 403, 404, 500].map((s) => compressible(s, html(5_000))),
      [true, false, false, true, true, false],
    );
  });
  it('leaves a response the origin encoded, whatever the encoding, and types outside the list', () => {
    assert.equal(compressible(200, html(5_000, [['content-encoding', 'identity']])), false);
    assert.equal(
      compressible(200, [
        ['content-type', 'image/png'],
        ['content-length', '5000'],
      ]),
      false,
    );
    assert.equal(
      compressible(200, [
        ['content-type', 'Application/JSON'],
        ['content-length', '5000'],
      ]),
      true,
    );
    assert.equal(compressible(200, [['content-length', '5000']]), false);
  });
  it('converts ETags: strong to weak, weak unchanged, invalid removed', () => {
    assert.equal(compressedEtag('"abc"'), 'W/"abc"');
    assert.equal(compressedEtag('W/"abc"'), 'W/"abc"');
    assert.equal(compressedEtag('abc'), undefined);
  });
});

describe('compression: the stream', () => {
  const body = 'hello compressible world '.repeat(200);
  for (const [encoding, inflate] of [
    ['gzip', zlib.gunzipSync],
    ['br', zlib.brotliDecompressSync],
    ['br,gzip', zlib.brotliDecompressSync],
  ] as const) {
    it(`${encoding}: compresses the body, drops Content-Length, sets Content-Encoding and Vary, weakens the ETag`, async () => {
      const out = compressResponse(
        [
          ['content-type', 'text/plain'],
          ['content-length', String(body.length)],
          ['etag', '"v1"'],
        ],
        Readable.from([Buffer.from(body)]),
        encoding,
      );
      const chunks: Buffer[] = [];
      for await (const chunk of out.body) chunks.push(chunk as Buffer);
      const compressed = Buffer.concat(chunks);
      assert.ok(compressed.length < body.length / 10);
      assert.equal(inflate(compressed).toString(), body);
      const names = new Map(out.headers);
      assert.equal(names.get('content-length'), undefined);
      assert.equal(names.get('content-encoding'), encoding === 'gzip' ? 'gzip' : 'br');
      assert.equal(names.get('etag'), 'W/"v1"');
      assert.equal(names.get('vary'), 'Accept-Encoding');
    });
  }
  it('fails the compressed body when the origin body fails (never a short body that looks complete)', async () => {
    const failing = new Readable({
      read() {
        this.destroy(new Error('origin reset'));
      },
    });
    const out = compressResponse([['content-type', 'text/plain']], failing, 'gzip');
    await assert.rejects(text(out.body), /origin reset/);
  });
});
