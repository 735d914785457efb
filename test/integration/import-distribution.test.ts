/**
 * `openfront import-distribution` round trip: the exported distribution in examples/cloudfront-export (several
 * behaviors, an origin group, two functions, a KeyValueStore named by id in the code) becomes a config that a real
 * node serves; one request per behavior reaches the expected loopback origin through the expected function.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/index.js';
import { IMPORT_LIMITS } from '../../src/devtools/import-distribution/index.js';
import { startOpenFrontNode, type OpenFrontNode } from '../../src/node/index.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const EXPORT = fileURLToPath(new URL('../../../examples/cloudfront-export/', import.meta.url));

function cli(args: string[], cwd: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, 'import-distribution', ...args], { cwd, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
}

function get(port: number, path: string, host = 'www.example.com'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers: { host }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A loopback origin that says who it is and what it was asked; `/down/*` answers 503 on the primary. */
function startOrigin(name: string): Promise<Server> {
  const server = createServer((req, res) => {
    if (name === 'web-primary' && req.url?.startsWith('/down/')) {
      res.writeHead(503, { 'x-origin': name });
      res.end('down');
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/plain',
      'cache-control': 'no-store',
      'x-origin': name,
      'x-seen-uri': req.url ?? '',
      'x-seen-route': String(req.headers['x-route'] ?? ''),
      'x-seen-verify': String(req.headers['x-origin-verify'] ?? ''),
    });
    res.end(`${name} ${req.url}`);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('openfront import-distribution round trip', () => {
  let dir: string;
  let node: OpenFrontNode;
  const origins = new Map<string, Server>();
  let report: { notCarriedOver: Array<{ setting: string; reason: string }> };
  let stdout: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'openfront-import-'));
    for (const name of ['web-primary', 'web-secondary', 'api-backend', 'static']) origins.set(name, await startOrigin(name));
    const url = (name: string) => `http://127.0.0.1:${(origins.get(name)!.address() as AddressInfo).port}`;
    const run = cli(
      [
        EXPORT,
        '--out',
        'openfront.config.yaml',
        '--report',
        'import-report.json',
        '--origin-override',
        `web-primary=${url('web-primary')}`,
        '--origin-override',
        `web-secondary=${url('web-secondary')}`,
        '--origin-override',
        `api-backend=${url('api-backend')}`,
        '--origin-override',
        `S3-static.example.com=${url('static')}`,
        // The distribution redirects plain HTTP to HTTPS; these requests are plain HTTP on loopback.
        '--viewer-protocol-policy',
        'allow-all',
      ],
      dir,
    );
    assert.equal(run.status, 0, run.stderr);
    stdout = run.stdout;
    report = JSON.parse(readFileSync(join(dir, 'import-report.json'), 'utf8')) as typeof report;
    node = await startOpenFrontNode({
      dataDir: join(dir, 'data'),
      config: await loadConfig(join(dir, 'openfront.config.yaml')),
      api: { port: 0 },
      edge: { port: 0 },
    });
  });

  after(async () => {
    await node?.close();
    for (const server of origins.values()) await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates the KeyValueStore with its AWS id and both functions LIVE', () => {
    assert.equal(node.state.kvs.getStore({ name: 'site-routes' })?.id, '3f9d2b7e-8c41-4a6f-9e05-1b2c3d4e5f60');
    assert.deepEqual(node.live.names().sort(), ['edge-router', 'security-headers']);
  });

  it('default behavior: the origin group primary, through edge-router (KVS by id) and security-headers', async () => {
    const reply = await get(node.edge.port, '/summer');
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['x-origin'], 'web-primary');
    assert.equal(reply.headers['x-seen-uri'], '/campaigns/summer-2026.html');
    assert.equal(reply.headers['x-seen-route'], '/summer');
    assert.equal(reply.headers['strict-transport-security'], 'max-age=63072000; includeSubDomains; preload');
  });

  it('default behavior: the origin group fails over to the secondary on a 503', async () => {
    const reply = await get(node.edge.port, '/down/page');
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['x-origin'], 'web-secondary');
    assert.equal(reply.headers['x-seen-uri'], '/down/page');
  });

  it('/api/*: the API origin with its origin path and custom header, no function', async () => {
    const reply = await get(node.edge.port, '/api/orders?page=2');
    assert.equal(reply.headers['x-origin'], 'api-backend');
    assert.equal(reply.headers['x-seen-uri'], '/v1/api/orders?page=2');
    assert.equal(reply.headers['x-seen-verify'], 'c2VjcmV0LWZyb20tY2xvdWRmcm9udA');
    assert.equal(reply.headers['strict-transport-security'], undefined);
  });

  it('/static/*: the bucket origin (renamed id), through security-headers only', async () => {
    const reply = await get(node.edge.port, '/static/app.css', 'example.com');
    assert.equal(reply.headers['x-origin'], 'static');
    assert.equal(reply.headers['x-seen-route'], '');
    assert.equal(reply.headers['x-frame-options'], 'DENY');
  });

  it('/legacy/*: the primary origin directly, with no function (its Lambda@Edge association is reported)', async () => {
    const reply = await get(node.edge.port, '/legacy/summer');
    assert.equal(reply.headers['x-origin'], 'web-primary');
    assert.equal(reply.headers['x-seen-uri'], '/legacy/summer');
    assert.equal(reply.headers['strict-transport-security'], undefined);
  });

  it('reports what it could not carry over, printed and as JSON', () => {
    const settings = report.notCarriedOver.map((n) => n.setting);
    for (const expected of [
      'DistributionConfig.DefaultRootObject',
      'DistributionConfig.ViewerCertificate',
      'DistributionConfig.DefaultCacheBehavior.ViewerProtocolPolicy',
      'DistributionConfig.CacheBehaviors.Items[2].LambdaFunctionAssociations',
      'DistributionConfig.Origins.Items[3].OriginAccessControlId',
      'DistributionConfig.Origins.Items[3].Id',
      'DistributionConfig.DefaultCacheBehavior.OriginRequestPolicyId',
    ]) {
      assert.ok(settings.includes(expected), `${expected} is reported`);
    }
    assert.match(stdout, new RegExp(`${report.notCarriedOver.length} settings not carried over`));
    assert.match(stdout, /Lambda@Edge is not run/);
  });
});

describe('openfront import-distribution input errors', () => {
  it('refuses an over-size distribution.json, a directory without one, an unknown --origin-override, and an existing --out', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'openfront-import-bad-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const missing = cli([join(dir, 'nothing-here'), '--out', join(dir, 'a.yaml')], dir);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /distribution\.json: no such file/);

    const big = join(dir, 'big');
    cpSync(EXPORT, big, { recursive: true });
    writeFileSync(join(big, 'distribution.json'), `{"pad":"${'x'.repeat(IMPORT_LIMITS.maxJsonBytes)}"}`);
    const tooBig = cli([big, '--out', join(dir, 'b.yaml')], dir);
    assert.equal(tooBig.status, 2);
    assert.match(tooBig.stderr, new RegExp(`more than the ${IMPORT_LIMITS.maxJsonBytes} bytes the importer reads`));

    const unknown = cli([EXPORT, '--out', join(dir, 'c.yaml'), '--origin-override', 'nope=http://127.0.0.1:1'], dir);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /--origin-override names origin "nope"/);

    writeFileSync(join(dir, 'exists.yaml'), 'keep me');
    const clobber = cli([EXPORT, '--out', join(dir, 'exists.yaml')], dir);
    assert.equal(clobber.status, 2);
    assert.equal(readFileSync(join(dir, 'exists.yaml'), 'utf8'), 'keep me');

    const badCode = join(dir, 'bad-code');
    cpSync(EXPORT, badCode, { recursive: true });
    writeFileSync(join(badCode, 'functions', 'edge-router.js'), 'x'.repeat(IMPORT_LIMITS.maxCodeBytes + 1));
    const codeTooBig = cli([badCode, '--out', join(dir, 'd.yaml')], dir);
    assert.equal(codeTooBig.status, 2);
    assert.match(codeTooBig.stderr, /edge-router\.js is \d+ bytes, more than/);
  });
});
