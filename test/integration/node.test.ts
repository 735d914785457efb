/**
 * A whole OpenFront node as `openfront start` runs it (the bundled demo config, a real SQLite file, the edge and the
 * API on port 0), driven the way a user drives it: curl-like requests to the edge, the official AWS SDK clients and
 * signed native calls to the API.
 */
import '@aws-sdk/signature-v4a';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CloudFrontClient, DescribeFunctionCommand, PublishFunctionCommand, UpdateFunctionCommand } from '@aws-sdk/client-cloudfront';
import { CloudFrontKeyValueStoreClient, DescribeKeyValueStoreCommand, PutKeyCommand } from '@aws-sdk/client-cloudfront-keyvaluestore';
import { DEMO_CONFIG } from '../../src/cli/commands/start.js';
import { loadConfig } from '../../src/config/index.js';
import { startOpenFrontNode, type OpenFrontNode } from '../../src/node/index.js';
import { loopbackAgent, rawRequest, type Credentials } from './fixtures/kvs-api-harness.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(base: string, path: string, headers: Record<string, string> = {}): Promise<Reply> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ hostname, port, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

function runCli(cli: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { env, encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function startDemo(dataDir: string): Promise<OpenFrontNode> {
  return startOpenFrontNode({ dataDir, config: await loadConfig(DEMO_CONFIG), api: { port: 0 }, edge: { port: 0 } });
}

describe('an OpenFront node serving the demo', () => {
  let dataDir: string;
  let node: OpenFrontNode;
  let key: Credentials;
  const agent = loopbackAgent();
  let cloudFront: CloudFrontClient;
  let kvs: CloudFrontKeyValueStoreClient;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'openfront-node-'));
    node = await startDemo(dataDir);
    key = node.state.keys.createAccessKey('node test');
    const endpoint = `http://localhost:${node.api.port}`;
    const common = { region: 'us-east-1', endpoint, credentials: key, maxAttempts: 1, requestHandler: { httpAgent: agent } };
    cloudFront = new CloudFrontClient(common);
    kvs = new CloudFrontKeyValueStoreClient(common);
  });

  after(async () => {
    cloudFront.destroy();
    kvs.destroy();
    agent.destroy();
    await node.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('seeds the config: stores from their seed files, functions created and LIVE', () => {
    assert.deepEqual(node.seeded.stores.sort(), ['demo-flags', 'demo-redirects']);
    assert.deepEqual(node.seeded.functions.map((f) => `${f.name}:${f.action}:${f.version}`).sort(), [
      'demo-feature-flag:created:1',
      'demo-locale:created:1',
      'demo-redirects:created:1',
      'demo-security-headers:created:1',
    ]);
  });

  it('runs the viewer functions: locale routing, the static site with security headers, the feature flag', async () => {
    const root = await get(node.edge.url, '/', { 'accept-language': 'de-DE,de;q=0.9' });
    assert.equal(root.status, 302);
    assert.equal(root.headers.location, '/de/');
    const page = await get(node.edge.url, '/en/');
    assert.equal(page.status, 200);
    assert.match(page.body, /OpenFront demo/);
    assert.equal(page.headers['x-frame-options'], 'DENY');
    const beta = await get(node.edge.url, '/beta/', { cookie: 'beta-bucket=10' });
    assert.match(beta.body, /the new page/);
    const off = await get(node.edge.url, '/beta/', { cookie: 'beta-bucket=90' });
    assert.match(off.body, /the old page/);
  });

  it('follows a KVS write made with the official SDK on the very next request', async () => {
    assert.equal((await get(node.edge.url, '/go/docs')).headers.location, '/docs/');
    const arn = node.state.kvs.getStore({ name: 'demo-redirects' })?.arn as string;
    const { ETag } = await kvs.send(new DescribeKeyValueStoreCommand({ KvsARN: arn }));
    await kvs.send(new PutKeyCommand({ KvsARN: arn, Key: '/go/docs', Value: 'https://example.com/moved', IfMatch: ETag }));
    const after = await get(node.edge.url, '/go/docs');
    assert.equal(after.status, 301);
    assert.equal(after.headers.location, 'https://example.com/moved');
  });

  it('serves a published function version on the next request, and the old one after a rollback', async () => {
    const dev = await cloudFront.send(new DescribeFunctionCommand({ Name: 'demo-locale', Stage: 'DEVELOPMENT' }));
    const code = `function handler(event) { return { statusCode: 302, statusDescription: 'Found', headers: { location: { value: '/fr/' } } }; }`;
    const updated = await cloudFront.send(
      new UpdateFunctionCommand({
        Name: 'demo-locale',
        IfMatch: dev.ETag,
        FunctionConfig: { Comment: 'always French', Runtime: 'cloudfront-js-1.0' },
        FunctionCode: Buffer.from(code),
      }),
    );
    assert.equal((await get(node.edge.url, '/')).headers.location, '/en/', 'DEVELOPMENT changes must not reach the edge');
    await cloudFront.send(new PublishFunctionCommand({ Name: 'demo-locale', IfMatch: updated.ETag }));
    assert.equal((await get(node.edge.url, '/')).headers.location, '/fr/');

    const live = JSON.parse((await rawRequest(node.api.port, { method: 'GET', path: '/openfront/v1/functions/demo-locale/live', credentials: key })).body) as {
      etag: string;
      version: number;
    };
    assert.equal(live.version, 2);
    const rollback = await rawRequest(node.api.port, {
      method: 'POST',
      path: '/openfront/v1/functions/demo-locale/rollback',
      credentials: key,
      headers: { 'content-type': 'application/json', 'if-match': live.etag },
      body: JSON.stringify({ version: 1 }),
    });
    assert.equal(rollback.status, 200, rollback.body);
    assert.equal((await get(node.edge.url, '/')).headers.location, '/en/');
  });

  it('invalidates cached objects through the API', async () => {
    await get(node.edge.url, '/en/');
    assert.match(String((await get(node.edge.url, '/en/')).headers['x-cache']), /^Hit/);
    const unsigned = await rawRequest(node.api.port, {
      method: 'POST',
      path: '/openfront/v1/distributions/EDEMO0000000001/invalidations',
      sign: false,
      body: '{"paths":["/en/*"]}',
    });
    assert.equal(unsigned.status, 403);
    const response = await rawRequest(node.api.port, {
      method: 'POST',
      path: '/openfront/v1/distributions/EDEMO0000000001/invalidations',
      credentials: key,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ paths: ['/en/*'] }),
    });
    assert.equal(response.status, 201, response.body);
    assert.ok((JSON.parse(response.body) as { invalidated: number }).invalidated >= 1);
    assert.match(String((await get(node.edge.url, '/en/')).headers['x-cache']), /^Miss/);
    assert.ok(node.state.auditLog.list({}).some((r) => r.operation === 'CreateInvalidation' && r.accessKeyId === key.accessKeyId));
  });

  it('openfront invalidate drops cached objects through the signed API', async () => {
    await get(node.edge.url, '/de/');
    assert.match(String((await get(node.edge.url, '/de/')).headers['x-cache']), /^Hit/);
    const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
    const env = {
      ...process.env,
      OPENFRONT_ENDPOINT: node.api.url,
      OPENFRONT_ACCESS_KEY_ID: key.accessKeyId,
      OPENFRONT_SECRET_ACCESS_KEY: key.secretAccessKey,
    };
    // The API lives in this process: the CLI must run asynchronously or it would wait on a blocked event loop.
    const ok = await runCli(cli, ['invalidate', 'EDEMO0000000001', '/de/*'], env);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /Invalidated [1-9]\d* cached object/);
    assert.match(String((await get(node.edge.url, '/de/')).headers['x-cache']), /^Miss/);
    const unknown = await runCli(cli, ['invalidate', 'ENOSUCHDIST', '/x'], env);
    assert.notEqual(unknown.status, 0);
    assert.match(unknown.stderr, /ENOSUCHDIST/);
  });

  it('keeps data and versions across a restart on the same data directory', async () => {
    await node.close();
    node = await startDemo(dataDir);
    assert.deepEqual(node.seeded.stores, [], 'seed files are only the starting point');
    assert.deepEqual(node.seeded.functions, [], 'unchanged config functions are not re-versioned');
    assert.equal((await get(node.edge.url, '/go/docs')).headers.location, 'https://example.com/moved');
  });
});
