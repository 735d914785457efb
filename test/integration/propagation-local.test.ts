/**
 * Propagation in single-process mode (docs/fleet.md): writes answer with their version, the propagation endpoints
 * answer with the node's one edge, `?wait=all` / `--wait` return once it serves the write, and `openfront status`
 * prints it.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DEMO_CONFIG } from '../../src/cli/commands/start.js';
import { loadConfig } from '../../src/config/index.js';
import { startOpenFrontNode, type OpenFrontNode } from '../../src/node/index.js';
import { rawRequest, type Credentials, type RawResponse } from './fixtures/kvs-api-harness.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

interface Propagation {
  version: number | null;
  converged: boolean;
  edges: Array<{ name: string; version: number | null; lagMs: number; lastSeen: string; live: boolean }>;
}

describe('propagation on one node (openfront start)', () => {
  let dataDir: string;
  let node: OpenFrontNode;
  let key: Credentials;
  let env: NodeJS.ProcessEnv;

  const native = (method: string, path: string, body?: unknown): Promise<RawResponse> =>
    rawRequest(node.api.port, {
      method,
      path,
      credentials: key,
      service: 'openfront',
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
  const dataPlane = (method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<RawResponse> =>
    rawRequest(node.api.port, {
      method,
      path,
      credentials: key,
      service: 'cloudfront-keyvaluestore',
      headers: { 'content-type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const cli = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      execFile(process.execPath, [MAIN, ...args], { env }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
  const store = () => node.state.kvs.getStore({ name: 'demo-redirects' })!;
  const keyPath = (k: string) => `/key-value-stores/${encodeURIComponent(store().arn)}/keys/${encodeURIComponent(k)}`;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'openfront-propagation-'));
    node = await startOpenFrontNode({ dataDir, config: await loadConfig(DEMO_CONFIG), api: { port: 0 }, edge: { port: 0 }, edgeName: 'local-edge' });
    key = node.state.keys.createAccessKey('propagation test');
    env = {
      PATH: process.env.PATH,
      OPENFRONT_ENDPOINT: node.api.url,
      OPENFRONT_ACCESS_KEY_ID: key.accessKeyId,
      OPENFRONT_SECRET_ACCESS_KEY: key.secretAccessKey,
    };
  });

  after(async () => {
    await node.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers a data-plane write with its version beside the ETag', async () => {
    const before = store();
    const res = await dataPlane('PUT', keyPath('/a'), { 'if-match': before.etag }, { Value: '/b' });
    assert.equal(res.status, 200, res.body);
    assert.equal(res.headers['x-openfront-version'], String(before.version + 1));
    assert.equal(res.headers.etag, store().etag);
  });

  it('answers the store propagation endpoint with the one local edge', async () => {
    const res = await native('GET', '/openfront/v1/key-value-stores/demo-redirects/propagation');
    assert.equal(res.status, 200, res.body);
    const body = JSON.parse(res.body) as Propagation;
    assert.equal(body.version, store().version);
    assert.equal(body.converged, true);
    assert.equal(body.edges.length, 1);
    assert.deepEqual({ ...body.edges[0], lastSeen: undefined }, { name: 'local-edge', version: store().version, lagMs: 0, live: true, lastSeen: undefined });
    assert.equal((await native('GET', '/openfront/v1/key-value-stores/no-such-store/propagation')).status, 404);
  });

  it('holds a write with ?wait=all until the edge serves it, and the edge does serve it', async () => {
    const before = store();
    const res = await dataPlane('PUT', `${keyPath('/wait')}?wait=all&timeout=5s`, { 'if-match': before.etag }, { Value: '/waited' });
    assert.equal(res.status, 200, res.body);
    assert.equal(res.headers['x-openfront-version'], String(before.version + 1));
    const served = node.live.get('demo-redirects')!.kvs.stores.get(before.id)!;
    assert.equal(served.snapshot().version, before.version + 1);
  });

  it('refuses a bad wait or timeout before writing anything', async () => {
    const before = store();
    for (const query of ['wait=some', 'wait=all&timeout=61s', 'wait=all&timeout=0s', 'wait=all&timeout=soon', 'timeout=5s']) {
      const res = await dataPlane('PUT', `${keyPath('/never')}?${query}`, { 'if-match': before.etag }, { Value: 'x' });
      assert.equal(res.status, 400, `${query}: ${res.body}`);
      assert.equal(res.headers['x-amzn-errortype'], 'ValidationException', query);
    }
    assert.equal(store().version, before.version, 'nothing was written');
  });

  it('waits for a function publish and reports the LIVE version the edge runs', async () => {
    const published = await cli(['function', 'publish', 'demo-locale', '--wait', '5s', '--json']);
    assert.equal(published.code, 0, published.stderr);
    const live = node.registry.findStage('demo-locale', 'LIVE')!;
    assert.equal(node.live.get('demo-locale')!.version, live.version);
    const res = await native('GET', '/openfront/v1/functions/demo-locale/propagation');
    assert.equal(res.status, 200, res.body);
    const body = JSON.parse(res.body) as Propagation;
    assert.equal(body.version, live.version);
    assert.equal(body.converged, true);
    assert.deepEqual(
      body.edges.map((e) => [e.name, e.version, e.live]),
      [['local-edge', live.version, true]],
    );
    assert.equal((await native('GET', '/openfront/v1/functions/no-such-function/propagation')).status, 404);
  });

  it('writes with --wait from the CLI and prints the version', async () => {
    const before = store();
    const put = await cli(['kvs', 'put', 'demo-redirects', '/cli', '/waited', '--wait', '--json']);
    assert.equal(put.code, 0, put.stderr);
    assert.equal((JSON.parse(put.stdout) as { version: number }).version, before.version + 1);
    const human = await cli(['kvs', 'delete', 'demo-redirects', '/cli', '--wait']);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, new RegExp(`version ${before.version + 2} .*served by every live edge`));
    const bad = await cli(['kvs', 'put', 'demo-redirects', '/cli', 'x', '--wait', 'soon']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--wait takes a timeout like 5s/);
  });

  it('prints the fleet with openfront status', async () => {
    const json = await cli(['status', '--json']);
    assert.equal(json.code, 0, json.stderr);
    const { edges } = JSON.parse(json.stdout) as {
      edges: Array<{ name: string; live: boolean; stores: Array<{ name: string; version: number; current: number }>; functions: Array<{ name: string }> }>;
    };
    assert.equal(edges.length, 1);
    assert.equal(edges[0]!.name, 'local-edge');
    assert.equal(edges[0]!.live, true);
    const redirects = edges[0]!.stores.find((s) => s.name === 'demo-redirects')!;
    assert.equal(redirects.version, store().version);
    assert.equal(redirects.current, store().version);
    assert.ok(edges[0]!.functions.some((f) => f.name === 'demo-locale'));
    const human = await cli(['status']);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^EDGE\s+STATE\s+LAST SEEN\s+RESOURCE\s+SERVES\s+CURRENT\s+LAG$/m);
    assert.match(human.stdout, /^local-edge\s+live\s+.*store demo-redirects\s+\d+\s+\d+\s+in sync$/m);
    assert.match(human.stdout, /1 edge, 1 live/);
  });
});
