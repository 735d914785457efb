/**
 * `openfront edge` against a real nats-server: it serves the config's distribution with the LIVE function and the
 * store data from NATS, follows changes of both, and starts and serves from its --state-dir with NATS unreachable.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { startEdgeRole } from '../../src/node/edge-role.js';
import { connectNats, type NatsConnectionHandle } from '../../src/state/jetstream/connection.js';
import { EdgeStateFile } from '../../src/state/jetstream/kv-data/snapshot-file.js';
import { StoreDataWriter } from '../../src/state/jetstream/kv-data/writer.js';
import { CLI, eventually, publishLiveFunction, readerCode, readKeys, startEdgeProcess, writeEdgeConfig } from '../helpers/nats-fleet.js';
import { freePort, natsSkipReason, startNatsServer, type NatsServer } from '../helpers/nats-server.js';

function savedVersion(dir: string, storeId: string): number | undefined {
  const file = new EdgeStateFile(dir);
  try {
    return file.loadStore(storeId)?.version;
  } finally {
    file.close();
  }
}

describe('openfront edge', { skip: natsSkipReason() }, () => {
  let server: NatsServer;
  let nats: NatsConnectionHandle;
  let config: { dir: string; configPath: string };
  const dirs: string[] = [];
  const stateDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'openfront-edge-state-'));
    dirs.push(d);
    return d;
  };

  before(async () => {
    server = await startNatsServer();
    nats = await connectNats(server.url, { name: 'edge-test-control' });
    config = writeEdgeConfig();
    dirs.push(config.dir);
  });

  after(async () => {
    await nats?.close();
    await server?.dispose();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('serves the LIVE function from NATS with its store, and follows data and LIVE moves', async () => {
    const storeId = randomUUID();
    const w = await StoreDataWriter.open(nats, storeId);
    await w.put('greeting', 'hello', { actor: 'x' });
    await publishLiveFunction(nats, 'reader', 1, readerCode('v1'), { storeId });
    const role = await startEdgeRole({ nats: server.url, config: await loadConfig(config.configPath), name: 'e1', stateDir: stateDir(), port: 0 });
    try {
      await eventually(async () => (await readKeys(role.edge.url, ['greeting'])).values.greeting === 'hello', 10_000, 'first answer');
      assert.deepEqual(await readKeys(role.edge.url, ['greeting', 'missing']), { tag: 'v1', values: { greeting: 'hello', missing: null } });

      const r = await w.update(
        {
          puts: [
            { key: 'greeting', value: 'bonjour' },
            { key: 'second', value: '2' },
          ],
        },
        { actor: 'x' },
      );
      await role.replica(storeId).whenVersion(r.version);
      assert.deepEqual((await readKeys(role.edge.url, ['greeting', 'second'])).values, { greeting: 'bonjour', second: '2' });
      assert.equal(role.versions().stores[storeId]?.version, r.version);
      // The fleet sees it: the edge's report in of_edges names the version it serves.
      const edges = await nats.kvm.open('of_edges');
      await eventually(
        async () => {
          const report = (await edges.get('e1'))?.json<{ stores: Record<string, { version: number }> }>();
          return report?.stores[storeId]?.version === r.version;
        },
        5_000,
        'edge report with the new version',
      );

      await publishLiveFunction(nats, 'reader', 2, readerCode('v2'), { storeId });
      await eventually(async () => (await readKeys(role.edge.url, [])).tag === 'v2', 10_000, 'LIVE version 2 served');
      assert.equal(role.versions().functions.reader?.version, 2);
    } finally {
      await role.close();
    }
  });

  it('refuses a command line without --nats or with a bad --name, naming the problem', () => {
    const run = (...args: string[]) => spawnSync(process.execPath, [CLI, 'edge', ...args], { encoding: 'utf8', timeout: 20_000 });
    const noNats = run('--config', config.configPath);
    assert.equal(noNats.status, 1);
    assert.match(noNats.stderr, /needs --nats/);
    const badName = run('--nats', server.url, '--config', config.configPath, '--name', 'no spaces', '--state-dir', stateDir());
    assert.equal(badName.status, 1);
    assert.match(badName.stderr, /--name must be/);
  });

  it('starts as a process with NATS unreachable and serves the function and the store from its state dir', async () => {
    const storeId = randomUUID();
    const w = await StoreDataWriter.open(nats, storeId);
    await w.put('greeting', 'saved', { actor: 'x' });
    await publishLiveFunction(nats, 'reader', 3, readerCode('v3'), { storeId });
    const dir = stateDir();
    // A first run fills the state dir.
    let edge = await startEdgeProcess({ nats: server.url, configPath: config.configPath, name: 'e2', stateDir: dir });
    try {
      await eventually(async () => (await readKeys(edge.url, ['greeting'])).values.greeting === 'saved', 10_000, 'first run serves');
      // Saves follow changes within ~100 ms; wait for this one so that the SIGKILL below does not race it.
      await eventually(async () => savedVersion(dir, storeId) === 1, 5_000, 'store saved in the state dir');
    } finally {
      await edge.kill('SIGKILL');
    }
    // Started against a port where no NATS listens: it serves at once from the snapshot.
    const nowhere = `nats://127.0.0.1:${await freePort()}`;
    edge = await startEdgeProcess({ nats: nowhere, configPath: config.configPath, name: 'e2', stateDir: dir });
    try {
      assert.deepEqual(await readKeys(edge.url, ['greeting']), { tag: 'v3', values: { greeting: 'saved' } });
    } finally {
      await edge.kill('SIGKILL');
    }
  });
});
