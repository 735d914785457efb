/**
 * Issue 13, fleet robustness as an operator meets it, with real processes and a real nats-server:
 * - `openfront control` started before NATS says what it waits for (naming the url) and serves once NATS is up;
 * - `openfront edge --health-port` answers `/healthz` and `/readyz` (ready once its functions are LIVE, and still
 *   ready when NATS goes away, since it serves its last data), and SIGHUP reloads its config in place.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { startControlRole } from '../../src/node/control-role.js';
import { acceptsConnections, CLI_MAIN } from '../helpers/fleet-processes.js';
import { FleetLiveFunctions } from '../../src/node/edge-role-functions.js';
import { connectNats } from '../../src/state/jetstream/connection.js';
import { eventually, publishLiveFunction, readerCode, writeEdgeConfig } from '../helpers/nats-fleet.js';
import { freePort, natsSkipReason, startNatsServer, type NatsServer } from '../helpers/nats-server.js';

/** A child process whose output a test can wait on. */
function spawnCli(args: string[], env: NodeJS.ProcessEnv = process.env) {
  const child = spawn(process.execPath, [CLI_MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    output: () => output,
    /** Resolves once the output contains `text` (fails with the output if the process exits first or after 30 s). */
    waitFor: (text: string) => eventually(async () => output.includes(text), 30_000, `output "${text}" in:\n${output}`),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

async function getJson(url: string): Promise<{ status: number; body: { status: string; checks: Record<string, string> } }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as { status: string; checks: Record<string, string> } };
}

describe('fleet operations: control waiting for NATS, edge probes and reload', { skip: natsSkipReason() }, () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  after(async () => {
    for (const step of cleanups.reverse()) await step();
  });

  it('control started before NATS names the url it waits for, keeps retrying, and serves once NATS is up', async () => {
    const natsPort = await freePort();
    const apiPort = await freePort();
    const url = `nats://127.0.0.1:${natsPort}`;
    const control = spawnCli(['control', '--nats', url, '--api-port', String(apiPort)], {
      ...process.env,
      OPENFRONT_SECRET_KEY: randomBytes(32).toString('hex'),
    });
    cleanups.push(() => control.stop());
    await control.waitFor(`Waiting for NATS at ${url}: no server answers yet`);
    assert.equal(control.child.exitCode, null, 'it keeps waiting');
    assert.equal(await acceptsConnections(apiPort), false, 'no API before NATS');

    const server = await startNatsServer({ port: natsPort });
    cleanups.push(() => server.dispose());
    await control.waitFor(`Connected to NATS at ${url}`);
    await eventually(async () => (await getJson(`http://127.0.0.1:${apiPort}/readyz`)).status === 200, 30_000, 'control ready');
  });

  it('edge --health-port: /healthz, /readyz once its function is LIVE and while NATS is away; SIGHUP reloads the config', async () => {
    const server: NatsServer = await startNatsServer();
    cleanups.push(() => server.dispose());
    const { dir, configPath } = writeEdgeConfig();
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const control = await startControlRole({ nats: server.url, secretKey: randomBytes(32), config: await loadConfig(configPath), api: { port: 0 } });
    cleanups.push(() => control.close());

    const [edgePort, healthPort] = [await freePort(), await freePort()];
    const edge = spawnCli([
      'edge',
      '--nats',
      server.url,
      '--config',
      configPath,
      '--name',
      'ops-edge',
      '--state-dir',
      join(dir, 'state'),
      '--edge-port',
      String(edgePort),
      '--health-port',
      String(healthPort),
    ]);
    cleanups.push(() => edge.stop());
    await edge.waitFor('health probes on');
    const probe = (path: string) => getJson(`http://127.0.0.1:${healthPort}${path}`);
    assert.deepEqual(await probe('/healthz'), { status: 200, body: { status: 'ok', checks: { process: 'up' } } });
    await eventually(async () => (await probe('/readyz')).status === 200, 30_000, 'edge ready');
    assert.deepEqual((await probe('/readyz')).body.checks, { functions: 'ok', stores: 'ok', edge: 'ok', nats: 'ok' });
    const notProbe = await fetch(`http://127.0.0.1:${healthPort}/`);
    assert.equal(notProbe.status, 404);
    await notProbe.text();
    const viaFunction = await fetch(`http://127.0.0.1:${edgePort}/index.html`);
    assert.match(await viaFunction.text(), /"tag":"config"/, 'the reader function answers');

    // SIGHUP: the config without the function association now serves the origin itself.
    writeFileSync(configPath, readFileSync(configPath, 'utf8').replace(/ {6}functionAssociations:\n {8}viewer-request: reader\n/, ''));
    edge.child.kill('SIGHUP');
    await edge.waitFor('config reloaded');
    const viaOrigin = await fetch(`http://127.0.0.1:${edgePort}/index.html`);
    assert.equal(await viaOrigin.text(), 'origin\n');

    // A broken config is refused; the previous one keeps serving.
    writeFileSync(configPath, 'distributions: [{ id: 1 }]\n');
    edge.child.kill('SIGHUP');
    await edge.waitFor('reload refused, the previous config keeps serving');
    assert.equal(await (await fetch(`http://127.0.0.1:${edgePort}/index.html`)).text(), 'origin\n');

    // NATS away: still ready (it serves its last data), and it says so.
    await server.stop();
    await eventually(async () => (await probe('/readyz')).body.checks.nats !== 'ok', 15_000, 'readyz notices NATS is gone');
    const away = await probe('/readyz');
    assert.equal(away.status, 200);
    assert.equal(away.body.checks.nats, 'not connected (serving the last data)');
  });

  it("the edge's LIVE-function feed subscribes again when its consumer's heartbeats stop, and follows LIVE moves after", async () => {
    const server = await startNatsServer();
    cleanups.push(() => server.dispose());
    const conn = await connectNats(server.url, { name: 'feed-test' });
    cleanups.push(() => conn.close());
    await publishLiveFunction(conn, 'fn', 1, readerCode('v1'));
    const log: string[] = [];
    const functions = new FleetLiveFunctions({
      storeSource: () => assert.fail('no store is read'),
      idleHeartbeatMs: 300,
      log: (message) => log.push(message),
    });
    cleanups.push(() => functions.close());
    functions.follow(conn);
    await eventually(async () => functions.live('fn')?.version === '1', 10_000, 'v1 loaded');
    assert.equal(functions.subscriptions, 1);

    // The consumer vanishes server-side (as when the server holding it dies while our connection is to another):
    // no message and no heartbeat comes any more, and nothing tells the client but that silence.
    for await (const info of await conn.jsm.consumers.list('KV_of_functions')) await conn.jsm.consumers.delete('KV_of_functions', info.name);
    await eventually(async () => functions.subscriptions >= 2, 15_000, 'the feed subscribed again');
    assert.ok(log.includes('function feed restarts'), log.join('\n'));
    await publishLiveFunction(conn, 'fn', 2, readerCode('v2'));
    await eventually(async () => functions.live('fn')?.version === '2', 10_000, 'v2 loaded after the restart');
  });
});
