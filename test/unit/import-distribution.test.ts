/** The distribution translator on its own: shapes the round-trip fixture does not cover. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/index.js';
import { importDistribution, parseOriginOverrides } from '../../src/devtools/import-distribution/index.js';

const list = (items: unknown[]) => (items.length === 0 ? { Quantity: 0 } : { Quantity: items.length, Items: items });

/** An export directory holding `get-distribution-config` output (no Distribution wrapper, so no Id). */
function exportDir(config: Record<string, unknown>, files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'openfront-import-unit-'));
  writeFileSync(join(dir, 'distribution.json'), JSON.stringify({ ETag: 'E1', DistributionConfig: config }));
  for (const [name, body] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), body);
  }
  return dir;
}

const origin = {
  Id: 'app',
  DomainName: 'app.example.com',
  OriginPath: '',
  CustomOriginConfig: { HTTPPort: 8080, HTTPSPort: 443, OriginProtocolPolicy: 'http-only' },
};

describe('importDistribution', () => {
  it('reads get-distribution-config output: managed policies by id, legacy ForwardedValues, an unknown policy falls back to CachingDisabled', (t) => {
    const dir = exportDir({
      Origins: list([origin]),
      DefaultCacheBehavior: { TargetOriginId: 'app', ViewerProtocolPolicy: 'allow-all', CachePolicyId: '4cc15a8a-d715-48a4-82b8-cc0b614638fe' },
      CacheBehaviors: list([
        {
          PathPattern: '/img/*',
          TargetOriginId: 'app',
          ForwardedValues: { QueryString: true, QueryStringCacheKeys: list(['w']), Cookies: { Forward: 'none' }, Headers: list([]) },
          MinTTL: 0,
          DefaultTTL: 60,
          MaxTTL: 120,
        },
        { PathPattern: '/all/*', TargetOriginId: 'app', ForwardedValues: { QueryString: false, Cookies: { Forward: 'all' }, Headers: list(['*']) } },
        { PathPattern: '/x/*', TargetOriginId: 'app', CachePolicyId: '00000000-1111-4222-8333-444444444444' },
      ]),
    });
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const { config, notes } = importDistribution(dir, { outDir: dir });
    const parsed = parseConfig(config, dir);
    const distribution = parsed.distributions[0];
    assert.equal(distribution.id, 'imported');
    assert.deepEqual(distribution.hostnames, ['*']);
    assert.deepEqual(distribution.origins[0], {
      kind: 'custom',
      id: 'app',
      protocol: 'http',
      domainName: 'app.example.com',
      port: 8080,
      originPath: '',
      connectionAttempts: 3,
      connectTimeoutMs: 10_000,
      readTimeoutMs: 30_000,
      keepaliveTimeoutMs: 5_000,
      maxConnections: 128,
      customHeaders: {},
    });
    assert.equal(distribution.defaultBehavior.cachePolicy.name, 'UseOriginCacheControlHeaders-QueryStrings');
    assert.deepEqual(distribution.defaultBehavior.cachePolicy.queryStrings, { behavior: 'all', names: [] });
    const [img, all, unknown] = distribution.behaviors;
    assert.deepEqual([img.cachePolicy.defaultTtl, img.cachePolicy.queryStrings], [60, { behavior: 'whitelist', names: ['w'] }]);
    assert.equal(all.cachePolicy.name, 'CachingDisabled');
    assert.equal(unknown.cachePolicy.name, 'CachingDisabled');
    assert.ok(notes.some((n) => n.setting === 'DistributionConfig.CacheBehaviors.Items[2].CachePolicyId' && /CachingDisabled is used/.test(n.reason)));
    assert.ok(notes.some((n) => n.setting === 'DistributionConfig.Aliases'));
  });

  it('drops an association whose function code was not exported, and says so', (t) => {
    const dir = exportDir(
      {
        Origins: list([origin]),
        DefaultCacheBehavior: {
          TargetOriginId: 'app',
          CachePolicyId: '658327ea-f89d-4fab-a63d-7e88639e58f6',
          FunctionAssociations: list([{ FunctionARN: 'arn:aws:cloudfront::111122223333:function/gone', EventType: 'viewer-request' }]),
        },
      },
      { 'functions/gone.json': JSON.stringify({ FunctionSummary: { Name: 'gone', FunctionConfig: { Comment: '', Runtime: 'cloudfront-js-2.0' } } }) },
    );
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const { config, notes } = importDistribution(dir, { outDir: dir });
    assert.equal(parseConfig(config, dir).distributions[0].defaultBehavior.functions.viewerRequest, undefined);
    assert.ok(notes.some((n) => n.setting === 'functions/gone.json' && /no gone\.js beside it/.test(n.reason)));
  });

  it('carries over the edge settings CloudFront has: viewer protocol, compression, error pages, HTTP version, origin timeouts', (t) => {
    const dir = exportDir(
      {
        Origins: list([
          {
            ...origin,
            ConnectionAttempts: 2,
            ConnectionTimeout: 4,
            CustomOriginConfig: { ...origin.CustomOriginConfig, OriginReadTimeout: 60, OriginKeepaliveTimeout: 30 },
          },
        ]),
        DefaultCacheBehavior: {
          TargetOriginId: 'app',
          ViewerProtocolPolicy: 'redirect-to-https',
          Compress: true,
          CachePolicyId: '658327ea-f89d-4fab-a63d-7e88639e58f6',
        },
        CacheBehaviors: list([
          { PathPattern: '/api/*', TargetOriginId: 'app', ViewerProtocolPolicy: 'https-only', CachePolicyId: '08627262-05a9-4f76-9ded-b50ca2e3a84f' },
          { PathPattern: '/old/*', TargetOriginId: 'app', Compress: true, ForwardedValues: { QueryString: false, Cookies: { Forward: 'none' } } },
          { PathPattern: '/own/*', TargetOriginId: 'app', CachePolicyId: 'own-policy' },
        ]),
        CustomErrorResponses: list([
          { ErrorCode: 404, ResponsePagePath: '/404.html', ResponseCode: '404', ErrorCachingMinTTL: 30 },
          { ErrorCode: 503, ResponsePagePath: '', ResponseCode: '', ErrorCachingMinTTL: 0 },
          { ErrorCode: 418, ResponsePagePath: '/teapot.html', ResponseCode: '200', ErrorCachingMinTTL: 10 },
        ]),
        HttpVersion: 'http1.1',
      },
      {
        'cache-policies/own-policy.json': JSON.stringify({
          CachePolicy: {
            CachePolicyConfig: {
              Name: 'own',
              MinTTL: 0,
              DefaultTTL: 60,
              MaxTTL: 600,
              ParametersInCacheKeyAndForwardedToOrigin: {
                EnableAcceptEncodingGzip: true,
                EnableAcceptEncodingBrotli: false,
                HeadersConfig: { HeaderBehavior: 'none' },
                CookiesConfig: { CookieBehavior: 'none' },
                QueryStringsConfig: { QueryStringBehavior: 'none' },
              },
            },
          },
        }),
      },
    );
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const { config, notes } = importDistribution(dir, { outDir: dir });
    const distribution = parseConfig(config, dir).distributions[0];
    assert.equal(distribution.defaultBehavior.viewerProtocolPolicy, 'redirect-to-https');
    assert.equal(distribution.defaultBehavior.compress, true);
    assert.deepEqual(
      [distribution.defaultBehavior.cachePolicy.enableAcceptEncodingGzip, distribution.defaultBehavior.cachePolicy.enableAcceptEncodingBrotli],
      [true, true],
    );
    const [api, old, own] = distribution.behaviors;
    assert.equal(api.viewerProtocolPolicy, 'https-only');
    assert.notEqual(api.compress, true);
    assert.deepEqual([api.cachePolicy.enableAcceptEncodingGzip, api.cachePolicy.enableAcceptEncodingBrotli], [true, false]);
    // Legacy cache settings compress with gzip only.
    assert.deepEqual([old.compress, old.cachePolicy.enableAcceptEncodingGzip, old.cachePolicy.enableAcceptEncodingBrotli], [true, true, false]);
    assert.deepEqual([own.cachePolicy.enableAcceptEncodingGzip, own.cachePolicy.enableAcceptEncodingBrotli], [true, false]);
    assert.equal(distribution.httpVersion, 'http1.1');
    assert.deepEqual((config.distributions as Array<{ customErrorResponses: unknown }>)[0]!.customErrorResponses, [
      { errorCode: 404, responsePagePath: '/404.html', responseCode: 404, errorCachingMinTtl: 30 },
      { errorCode: 503, errorCachingMinTtl: 0 },
    ]);
    assert.ok(notes.some((n) => n.setting === 'DistributionConfig.CustomErrorResponses.Items[2].ErrorCode' && /left out/.test(n.reason)));
    const app = distribution.origins[0];
    assert.ok(app.kind === 'custom');
    assert.deepEqual([app.connectionAttempts, app.connectTimeoutMs, app.readTimeoutMs, app.keepaliveTimeoutMs], [2, 4_000, 60_000, 30_000]);
    const carried = /ViewerProtocolPolicy$|^DistributionConfig\.CustomErrorResponses$|ConnectionAttempts|OriginKeepaliveTimeout|EnableAcceptEncoding/;
    assert.deepEqual(
      notes.filter((n) => carried.test(n.setting)).map((n) => n.setting),
      [],
      'carried over, not reported',
    );
  });

  it('--viewer-protocol-policy allow-all serves plain HTTP where the distribution redirects, and reports each behavior it changed', (t) => {
    const dir = exportDir({
      Origins: list([origin]),
      DefaultCacheBehavior: { TargetOriginId: 'app', ViewerProtocolPolicy: 'redirect-to-https', CachePolicyId: '658327ea-f89d-4fab-a63d-7e88639e58f6' },
      CacheBehaviors: list([
        { PathPattern: '/open/*', TargetOriginId: 'app', ViewerProtocolPolicy: 'allow-all', CachePolicyId: '658327ea-f89d-4fab-a63d-7e88639e58f6' },
      ]),
    });
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const { config, notes } = importDistribution(dir, { outDir: dir, viewerProtocolPolicy: 'allow-all' });
    const distribution = parseConfig(config, dir).distributions[0];
    assert.equal(distribution.defaultBehavior.viewerProtocolPolicy, 'allow-all');
    const changed = notes.filter((n) => n.setting.endsWith('ViewerProtocolPolicy'));
    assert.deepEqual(
      changed.map((n) => [n.setting, n.value, n.reason]),
      [['DistributionConfig.DefaultCacheBehavior.ViewerProtocolPolicy', 'redirect-to-https', 'replaced by allow-all (--viewer-protocol-policy)']],
    );
  });

  it('refuses a behavior pointing at an origin the distribution does not have', (t) => {
    const dir = exportDir({ Origins: list([origin]), DefaultCacheBehavior: { TargetOriginId: 'elsewhere' } });
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    assert.throws(() => importDistribution(dir, { outDir: dir }), /TargetOriginId "elsewhere" is not an origin/);
  });
});

describe('parseOriginOverrides', () => {
  it('takes id=url and id=directory (resolved), and refuses anything else', () => {
    const overrides = parseOriginOverrides(['a=http://127.0.0.1:8081', 'S3-b.example.com=./site'], '/srv');
    assert.deepEqual(
      [...overrides],
      [
        ['a', 'http://127.0.0.1:8081'],
        ['S3-b.example.com', '/srv/site'],
      ],
    );
    assert.throws(() => parseOriginOverrides(['novalue='], '/srv'), /--origin-override takes/);
  });
});
