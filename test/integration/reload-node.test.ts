/**
 * Reloading a node through its API (docs/deploy.md), with the config source under the test's control: reloads
 * run one at a time, a function file that fails the checker changes nothing, settings bound to listeners are
 * reported as needing a restart, and the config file read is bounded.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig, MAX_CONFIG_FILE_BYTES } from '../../src/config/load.js';
import type { EdgeConfig } from '../../src/config/types.js';
import { NATIVE_SIGNING_SERVICE } from '../../src/control/auth/sign-request.js';
import { startOpenFrontNode, type OpenFrontNode } from '../../src/node/index.js';
import { rawRequest, type Credentials } from './fixtures/kvs-api-harness.js';
import { get, startOrigin, writeConfig, type TestOrigin } from './fixtures/ops-harness.js';

describe('node.reload through POST /openfront/v1/reload', () => {
  let dir: string;
  let origin: TestOrigin;
  let node: OpenFrontNode;
  let key: Credentials;
  let source: () => Promise<EdgeConfig>;
  const reload = () => rawRequest(node.api.port, { method: 'POST', path: '/openfront/v1/reload', service: NATIVE_SIGNING_SERVICE, credentials: key });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'openfront-reload-'));
    origin = await startOrigin('o');
    const file = writeConfig(dir, origin.port);
    source = () => loadConfig(file);
    node = await startOpenFrontNode({
      dataDir: join(dir, 'data'),
      config: await loadConfig(file),
      api: { port: 0 },
      edge: { port: 0 },
      configSource: () => source(),
    });
    key = node.state.keys.createAccessKey('reload test');
  });
  after(async () => {
    await node.close();
    await origin.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs one reload at a time: a second one while the first runs is refused with 409 RELOAD_IN_PROGRESS', async () => {
    let letGo!: () => void;
    const gate = new Promise<void>((resolve) => (letGo = resolve));
    const file = join(dir, 'openfront.config.yaml');
    let asked!: () => void;
    const firstAsked = new Promise<void>((resolve) => (asked = resolve));
    source = async () => {
      asked();
      await gate;
      return loadConfig(file);
    };
    const first = reload();
    await firstAsked;
    const second = await reload();
    assert.equal(second.status, 409);
    assert.equal((JSON.parse(second.body) as { error: { code: string } }).error.code, 'RELOAD_IN_PROGRESS');
    letGo();
    assert.equal((await first).status, 200);
    source = () => loadConfig(file);
    assert.equal((await reload()).status, 200, 'once the first has finished, reloads are accepted again');
  });

  it('refuses a config whose function does not pass the checker, before changing anything', async () => {
    const code = join(dir, 'bad.js');
    writeFileSync(code, 'function handler(event) { return event.request }\n');
    const broken = join(dir, 'openfront.config.yaml');
    writeConfig(dir, origin.port);
    const good = await loadConfig(broken);
    const withFunctions: EdgeConfig = {
      ...good,
      functions: [
        { name: 'fine', codePath: code, runtime: 'cloudfront-js-2.0' },
        { name: 'broken', codePath: join(dir, 'missing.js'), runtime: 'cloudfront-js-2.0' },
      ],
    };
    source = () => Promise.resolve(withFunctions);
    const refused = await reload();
    assert.equal(refused.status, 400, refused.body);
    assert.match(refused.body, /missing\.js/);
    assert.throws(() => node.registry.describe('fine', 'DEVELOPMENT'), /fine/, 'the good function before the bad one was not created either');
    source = () => loadConfig(broken);
  });

  it('reports changed listener and limit settings as needing a restart, and applies the rest', async () => {
    const file = join(dir, 'openfront.config.yaml');
    const current = await loadConfig(file);
    const changed: EdgeConfig = { ...current, apiLimits: { ...current.apiLimits, maxConnections: 7 } };
    source = () => Promise.resolve(changed);
    const answer = await reload();
    assert.equal(answer.status, 200, answer.body);
    assert.deepEqual((JSON.parse(answer.body) as { restartNeeded: string[] }).restartNeeded, ['api']);
    assert.equal((await get(node.edge.port, '/still')).body, 'o:/still');
    source = () => loadConfig(file);
  });
});

describe('a reload that changes the edge port', () => {
  it('keeps the listening socket and reports server.port as needing a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'openfront-reload-port-'));
    const origin = await startOrigin('p');
    // No edge port from the caller: the config's server.port (0 = a free one) binds the edge.
    const file = writeConfig(dir, origin.port, { edgePort: 0 });
    const node = await startOpenFrontNode({
      dataDir: join(dir, 'data'),
      config: await loadConfig(file),
      api: { port: 0 },
      configSource: () => loadConfig(file),
    });
    try {
      const port = node.edge.port;
      writeConfig(dir, origin.port, { edgePort: port === 65_535 ? port - 1 : port + 1 });
      const outcome = await node.reload();
      assert.deepEqual(outcome.restartNeeded, ['server.port']);
      assert.equal(node.edge.port, port);
      assert.equal((await get(port, '/same')).body, 'p:/same', 'the edge still serves on the port it was started on');
    } finally {
      await node.close();
      await origin.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the config file read is bounded', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'openfront-config-cap-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it(`refuses a file over ${MAX_CONFIG_FILE_BYTES} bytes without parsing it`, async () => {
    const file = join(dir, 'huge.yaml');
    writeFileSync(file, `# ${'x'.repeat(MAX_CONFIG_FILE_BYTES)}\n`);
    await assert.rejects(loadConfig(file), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'CONFIG_INVALID');
      assert.match(err.message, /limit for a config file/);
      return true;
    });
  });

  it('refuses a FIFO instead of blocking on it', async () => {
    const fifo = join(dir, 'fifo.yaml');
    execFileSync('mkfifo', [fifo]);
    await assert.rejects(loadConfig(fifo), /not a regular file/);
  });
});
