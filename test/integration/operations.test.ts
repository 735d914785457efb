/**
 * `openfront start` in operation (docs/deploy.md): SIGHUP and the reload API swap the config in place without
 * cutting requests in flight; a bad config is refused and the old one keeps serving; SIGTERM drains; /healthz and
 * /readyz answer on the API port without credentials.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NATIVE_SIGNING_SERVICE } from '../../src/control/auth/sign-request.js';
import { openSqliteState } from '../../src/state/sqlite/index.js';
import { rawRequest, type Credentials } from './fixtures/kvs-api-harness.js';
import { get, runCli, startCli, startOrigin, writeConfig, type StartedChild, type TestOrigin } from './fixtures/ops-harness.js';

function reloadCall(port: number, credentials: Credentials | undefined) {
  return rawRequest(port, { method: 'POST', path: '/openfront/v1/reload', service: NATIVE_SIGNING_SERVICE, credentials, sign: credentials !== undefined });
}

/** A data directory holding an access key, made before the node starts. */
function prepareData(dir: string): Credentials {
  const db = openSqliteState(join(dir, 'data', 'openfront.db'));
  try {
    return db.keys.createAccessKey('operations test');
  } finally {
    db.database.close();
  }
}

describe('openfront start: reload in place', () => {
  let dir: string;
  let a: TestOrigin;
  let b: TestOrigin;
  let key: Credentials;
  let node: StartedChild;
  let config: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'openfront-ops-'));
    key = prepareData(dir);
    a = await startOrigin('a');
    b = await startOrigin('b');
    config = writeConfig(dir, a.port);
    node = await startCli(['--config', config, '--data', join(dir, 'data')]);
  });
  after(async () => {
    node.child.kill('SIGKILL');
    await Promise.all([a.close(), b.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('SIGHUP swaps the origin without cutting a request in flight; new requests get the new config', async () => {
    assert.equal((await get(node.edgePort, '/x')).body, 'a:/x');
    const inFlight = get(node.edgePort, '/slow/1');
    await a.waiting(1);
    writeConfig(dir, b.port);
    const mark = node.lines.length;
    node.child.kill('SIGHUP');
    await node.line(/config reloaded/, mark);
    assert.equal((await get(node.edgePort, '/x')).body, 'b:/x');
    a.release();
    const finished = await inFlight;
    assert.equal(finished.status, 200);
    assert.equal(finished.body, 'a:/slow/1', 'the request in flight finished on the config it started with');
  });

  it('refuses a broken config over the API, names the problem, and keeps serving the old one', async () => {
    writeConfig(dir, a.port, { brokenYaml: true });
    const refused = await reloadCall(node.apiPort, key);
    assert.equal(refused.status, 400);
    const error = (JSON.parse(refused.body) as { error: { code: string; message: string } }).error;
    assert.equal(error.code, 'CONFIG_INVALID');
    assert.match(error.message, /openfront\.config\.yaml/);
    assert.equal((await get(node.edgePort, '/x')).body, 'b:/x', 'the previous config keeps serving');

    const viaCli = await runCli(['reload', '--endpoint', `http://127.0.0.1:${node.apiPort}`], {
      OPENFRONT_ACCESS_KEY_ID: key.accessKeyId,
      OPENFRONT_SECRET_ACCESS_KEY: key.secretAccessKey,
    });
    assert.notEqual(viaCli.status, 0);
    assert.match(viaCli.stderr, /InvalidConfiguration/);

    const mark = node.lines.length;
    node.child.kill('SIGHUP');
    assert.match(await node.line(/reload refused/, mark), /previous config keeps serving/);
    assert.equal((await get(node.edgePort, '/x')).body, 'b:/x');
  });

  it('the reload API is signed: an unsigned call is refused and changes nothing', async () => {
    writeConfig(dir, a.port);
    const unsigned = await reloadCall(node.apiPort, undefined);
    assert.equal(unsigned.status, 403);
    assert.equal((await get(node.edgePort, '/x')).body, 'b:/x');
  });

  it('`openfront reload` applies a good config and reports settings that need a restart', async () => {
    writeConfig(dir, a.port, { edgePort: 18_081 });
    const viaCli = await runCli(['reload', '--json', '--endpoint', `http://127.0.0.1:${node.apiPort}`], {
      OPENFRONT_ACCESS_KEY_ID: key.accessKeyId,
      OPENFRONT_SECRET_ACCESS_KEY: key.secretAccessKey,
    });
    assert.equal(viaCli.status, 0, viaCli.stderr);
    const outcome = JSON.parse(viaCli.stdout) as { restartNeeded: string[] };
    // --edge-port was given on the command line, so server.port in the file does not bind this edge.
    assert.deepEqual(outcome.restartNeeded, []);
    assert.equal((await get(node.edgePort, '/x')).body, 'a:/x');
  });

  it('answers /healthz and /readyz on the API port without credentials, never on the edge', async () => {
    const health = await get(node.apiPort, '/healthz');
    assert.equal(health.status, 200);
    assert.equal((JSON.parse(health.body) as { status: string }).status, 'ok');
    const ready = await get(node.apiPort, '/readyz');
    assert.equal(ready.status, 200, ready.body);
    assert.deepEqual((JSON.parse(ready.body) as { checks: Record<string, string> }).checks, { stores: 'ok', functions: 'ok', edge: 'ok' });
    assert.equal((await get(node.edgePort, '/healthz')).body, 'a:/healthz', 'the edge passes /healthz to the origin like any viewer path');
  });
});

describe('openfront start: SIGTERM drains', () => {
  let dir: string;
  let origin: TestOrigin;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'openfront-drain-'));
    origin = await startOrigin('o');
  });
  after(async () => {
    await origin.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lets the request in flight finish, refuses new connections, is not ready, and exits 0', async () => {
    const node = await startCli(['--config', writeConfig(dir, origin.port), '--data', join(dir, 'data'), '--drain-timeout', '20']);
    try {
      const keepAlive = new Agent({ keepAlive: true });
      const inFlight = get(node.edgePort, '/slow/drain', {}, keepAlive);
      await origin.waiting(1);
      node.child.kill('SIGTERM');
      await node.line(/draining/);
      const ready = await get(node.apiPort, '/readyz');
      assert.equal(ready.status, 503);
      assert.equal((JSON.parse(ready.body) as { checks: { edge: string } }).checks.edge, 'draining');
      // Asked after /readyz: the listening socket's close has completed by then (it finishes in a later loop turn
      // than the "draining" line; a connection in that gap would be reset rather than refused).
      await assert.rejects(get(node.edgePort, '/x'), { code: 'ECONNREFUSED' });
      origin.release();
      const finished = await inFlight;
      assert.equal(finished.status, 200);
      assert.equal(finished.body, 'o:/slow/drain');
      assert.equal(finished.headers.connection, 'close', 'the keep-alive client is told to close');
      keepAlive.destroy();
      assert.deepEqual(await node.exit(), { code: 0, signal: null });
      assert.ok(node.lines.includes('openfront: stopped'), node.lines.join('\n'));
    } finally {
      node.child.kill('SIGKILL');
    }
  });

  it('cuts what is still running when the grace period ends, and still exits 0', async () => {
    const node = await startCli(['--config', writeConfig(dir, origin.port), '--data', join(dir, 'data'), '--drain-timeout', '0.3']);
    try {
      const inFlight = get(node.edgePort, '/slow/stuck').catch((err: NodeJS.ErrnoException) => err.code);
      await origin.waiting(1);
      node.child.kill('SIGTERM');
      assert.deepEqual(await node.exit(), { code: 0, signal: null });
      assert.equal(await inFlight, 'ECONNRESET');
      assert.ok(
        node.lines.some((l) => /1 request\(s\) cut/.test(l)),
        node.lines.join('\n'),
      );
    } finally {
      origin.release();
      node.child.kill('SIGKILL');
    }
  });
});

describe('reload bounds', () => {
  it('--drain-timeout must be a number of seconds', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'openfront-drain-flag-'));
    try {
      const result = await runCli(['start', '--config', writeConfig(dir, 9), '--data', join(dir, 'data'), '--drain-timeout', 'soon'], {});
      assert.equal(result.status, 1);
      assert.match(result.stderr, /--drain-timeout must be a number of seconds/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
