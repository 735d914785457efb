/**
 * `openfront control --nats`: the API on JetStream with no local state, against a real nats-server. Two control
 * processes serve one fleet: the same config seeds once, racing writes with one ETag have exactly one winner, keys
 * made with `openfront keys create --nats` sign requests to either; with NATS down, writes and metadata reads answer
 * 503 STATE_UNAVAILABLE at once and nothing is half-written.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { startControlRole, type ControlRole } from '../../src/node/control-role.js';
import { freePort, natsSkipReason, startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { rawRequest, type Credentials } from './fixtures/kvs-api-harness.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const DEMO = fileURLToPath(new URL('../../../examples/demo/openfront.config.yaml', import.meta.url));

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { env: { ...process.env, OPENFRONT_SECRET_KEY: '', ...env }, timeout: 20_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('openfront control --nats', { skip: natsSkipReason() }, () => {
  let server: NatsServer;
  let dir: string;
  let keyFile: string;
  let secretKey: Buffer;
  let a: ControlRole;
  let b: ControlRole;
  let key: Credentials;

  before(async () => {
    server = await startNatsServer();
    dir = mkdtempSync(join(tmpdir(), 'of-fleet-control-'));
    secretKey = randomBytes(32);
    keyFile = join(dir, 'fleet.key');
    writeFileSync(keyFile, `${secretKey.toString('hex')}\n`, { mode: 0o600 });
    const config = await loadConfig(DEMO);
    a = await startControlRole({ nats: server.url, secretKey, config, api: { port: 0 } });
    b = await startControlRole({ nats: server.url, secretKey, config, api: { port: 0 } });
  });

  after(async () => {
    await a?.close();
    await b?.close();
    await server?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('seeds the config once: a second control with the same config changes nothing', async () => {
    assert.deepEqual(a.seeded.stores.sort(), ['demo-flags', 'demo-redirects']);
    assert.equal(a.seeded.functions.length, 4);
    assert.deepEqual(b.seeded, { stores: [], functions: [] });
    const versions = await b.state.functions.versions('demo-redirects');
    assert.deepEqual(
      versions.map((v) => [v.version, v.stages]),
      [[1, ['DEVELOPMENT', 'LIVE']]],
    );
    const store = await b.state.stores.getStore({ name: 'demo-redirects' });
    assert.ok(store !== undefined && store.itemCount > 0, 'seeded from its file');
  });

  it('openfront keys create --nats --json makes a key both controls accept', async () => {
    const made = await cli(['keys', 'create', '--nats', server.url, '--secret-key-file', keyFile, '--json']);
    assert.equal(made.code, 0, made.stderr);
    key = JSON.parse(made.stdout) as Credentials;
    assert.match(key.accessKeyId, /^AKIA[A-Z2-7]{16}$/);
    for (const role of [a, b]) {
      const res = await rawRequest(role.api.port, { method: 'GET', path: '/2020-05-31/key-value-store/demo-flags', service: 'cloudfront', credentials: key });
      assert.equal(res.status, 200, res.body);
    }
    const listed = await cli(['keys', 'list', '--nats', server.url, '--json'], { OPENFRONT_SECRET_KEY: secretKey.toString('base64') });
    assert.equal(listed.code, 0, listed.stderr);
    assert.ok((JSON.parse(listed.stdout) as Array<{ accessKeyId: string }>).some((k) => k.accessKeyId === key.accessKeyId));
  });

  it('answers the propagation API from the edges reports in NATS (none yet: converged, no edges)', async () => {
    const store = (await a.state.stores.getStore({ name: 'demo-flags' }))!;
    const res = await rawRequest(b.api.port, {
      method: 'GET',
      path: '/openfront/v1/key-value-stores/demo-flags/propagation',
      service: 'openfront',
      credentials: key,
    });
    assert.equal(res.status, 200, res.body);
    assert.deepEqual(JSON.parse(res.body), { name: 'demo-flags', id: store.id, version: store.version, converged: true, edges: [] });
    const fn = await rawRequest(a.api.port, {
      method: 'GET',
      path: '/openfront/v1/functions/demo-redirects/propagation',
      service: 'openfront',
      credentials: key,
    });
    assert.equal(fn.status, 200, fn.body);
    assert.equal((JSON.parse(fn.body) as { version: number }).version, 1);
  });

  it('keys --nats gives up with a clear message when no NATS server answers', async () => {
    const nowhere = `nats://127.0.0.1:${await freePort()}`;
    const started = Date.now();
    const res = await cli(['keys', 'create', '--nats', nowhere, '--secret-key-file', keyFile]);
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, new RegExp(`No NATS server answered at ${nowhere}`));
    assert.ok(Date.now() - started < 15_000);
  });

  it('refuses to run without the fleet secret key, or with another one', async () => {
    const none = await cli(['control', '--nats', server.url, '--api-port', '0']);
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /--secret-key-file/);
    const other = join(dir, 'other.key');
    writeFileSync(other, randomBytes(32).toString('hex'));
    const wrong = await cli(['keys', 'list', '--nats', server.url, '--secret-key-file', other]);
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /sealed with another secret key/);
  });

  it('gives two controls racing one If-Match exactly one winner', async () => {
    const arn = (await a.state.stores.getStore({ name: 'demo-flags' }))!.arn;
    const described = await rawRequest(a.api.port, {
      method: 'GET',
      path: `/key-value-stores/${encodeURIComponent(arn)}`,
      service: 'cloudfront-keyvaluestore',
      credentials: key,
    });
    const etag = described.headers.etag as string;
    const put = (role: ControlRole, value: string) =>
      rawRequest(role.api.port, {
        method: 'PUT',
        path: `/key-value-stores/${encodeURIComponent(arn)}/keys/race`,
        body: JSON.stringify({ Value: value }),
        headers: { 'if-match': etag, 'content-type': 'application/json' },
        service: 'cloudfront-keyvaluestore',
        credentials: key,
      });
    const results = await Promise.all([put(a, 'from a'), put(b, 'from b'), put(a, 'from a2'), put(b, 'from b2')]);
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, 409, 409, 409], results.map((r) => r.body).join('\n'));
    const winner = results.find((r) => r.status === 200)!;
    const value = (await b.state.stores.getKey((await b.state.stores.getStore({ arn }))!.id, 'race')).value;
    assert.ok(['from a', 'from b', 'from a2', 'from b2'].includes(value));
    assert.equal((await a.state.stores.getStore({ arn }))!.etag, winner.headers.etag);
  });

  it('answers 503 STATE_UNAVAILABLE at once while NATS is down, writes nothing, and serves again when it is back', async () => {
    const store = (await a.state.stores.getStore({ name: 'demo-redirects' }))!;
    const before = await a.state.stores.exportData(store.id);
    await server.stop();
    const started = Date.now();
    const write = await rawRequest(a.api.port, {
      method: 'POST',
      path: `/key-value-stores/${encodeURIComponent(store.arn)}/keys`,
      body: JSON.stringify({ Puts: [{ Key: '/down', Value: 'x' }], Deletes: [] }),
      headers: { 'if-match': store.etag, 'content-type': 'application/json' },
      service: 'cloudfront-keyvaluestore',
      credentials: key,
    });
    const read = await rawRequest(b.api.port, { method: 'GET', path: '/2020-05-31/key-value-store/demo-redirects', service: 'cloudfront', credentials: key });
    const elapsed = Date.now() - started;
    assert.equal(write.status, 503, write.body);
    assert.match(String(write.headers['x-amzn-errortype']), /^ServiceUnavailableException/);
    assert.match(write.body, /NATS nats:\/\/127\.0\.0\.1:\d+ is unavailable/);
    assert.equal(read.status, 503, read.body);
    assert.ok(elapsed < 3000, `answered in ${elapsed} ms`);
    assert.equal(a.probes.readyz().ok, false);

    await server.restart();
    await a.state.conn.whenConnected();
    await b.state.conn.whenConnected();
    assert.deepEqual(await b.state.stores.exportData(store.id), before, 'nothing of the refused batch was written');
    assert.equal(a.probes.readyz().ok, true);
    const again = await rawRequest(b.api.port, { method: 'GET', path: '/2020-05-31/key-value-store/demo-redirects', service: 'cloudfront', credentials: key });
    assert.equal(again.status, 200, again.body);
  });
});
