import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CloudFrontClient, CreateKeyValueStoreCommand } from '@aws-sdk/client-cloudfront';
import { CloudFrontKeyValueStoreClient, DescribeKeyValueStoreCommand, GetKeyCommand, PutKeyCommand } from '@aws-sdk/client-cloudfront-keyvaluestore';
import { openSqliteState } from '../../src/state/sqlite/index.js';
import { connectNats } from '../../src/state/jetstream/connection.js';
import { storeStream } from '../../src/state/jetstream/key-codec.js';
import { runCli, startRoleProcess } from '../helpers/fleet-processes.js';
import { freePort, natsSkipReason, startNatsServer } from '../helpers/nats-server.js';
import { loopbackAgent } from './fixtures/kvs-api-harness.js';

const CHILD = fileURLToPath(new URL('./fixtures/server-child.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'openfront-crash-'));
const children: ChildProcess[] = [];
after(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

async function startChild(): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [CHILD, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const lines = createInterface({ input: child.stdout! });
  const [line] = (await Promise.race([once(lines, 'line'), once(child, 'exit').then(() => ['exited'])])) as string[];
  lines.close();
  if (line === 'exited') throw new Error('the server child exited before listening');
  return { child, port: (JSON.parse(line) as { port: number }).port };
}

it('keeps every acknowledged PutKey across a SIGKILL of openfront start, with no gap in versions', async () => {
  const setup = openSqliteState(join(dir, 'openfront.db'));
  const credentials = setup.keys.createAccessKey('crash test');
  const store = setup.kvs.createStore({ name: 'crash' }, { accessKeyId: 'test' });
  setup.database.close();

  const agent = loopbackAgent();
  const clientFor = (port: number) =>
    new CloudFrontKeyValueStoreClient({
      region: 'us-east-1',
      endpoint: `http://localhost:${port}`,
      credentials,
      maxAttempts: 1,
      requestHandler: { httpAgent: agent },
    });

  const first = await startChild();
  const client = clientFor(first.port);
  const acknowledged: Array<{ key: string; value: string; etag: string }> = [];
  let etag = store.etag;
  // Writes go one after another (each needs the previous ETag); the kill lands while one is in flight.
  const KILL_AFTER = 40;
  let inFlight: Promise<unknown> | undefined;
  for (let i = 0; ; i++) {
    const key = `key-${String(i).padStart(4, '0')}`;
    const value = `value-${i}`;
    const write = client.send(new PutKeyCommand({ KvsARN: store.arn, Key: key, Value: value, IfMatch: etag }));
    if (acknowledged.length === KILL_AFTER) {
      first.child.kill('SIGKILL');
      inFlight = write.catch(() => undefined);
      break;
    }
    const result = await write;
    etag = result.ETag!;
    acknowledged.push({ key, value, etag });
  }
  await inFlight;
  await once(first.child, 'exit');
  client.destroy();

  const second = await startChild();
  const restarted = clientFor(second.port);
  for (const { key, value } of acknowledged) {
    assert.equal((await restarted.send(new GetKeyCommand({ KvsARN: store.arn, Key: key }))).Value, value, key);
  }
  restarted.destroy();
  agent.destroy();
  second.child.kill('SIGTERM');
  await once(second.child, 'exit');

  const db = openSqliteState(join(dir, 'openfront.db'));
  try {
    const reopened = db.kvs.getStore({ id: store.id })!;
    // The write in flight at the kill may or may not have committed; nothing acknowledged may be missing.
    assert.ok(reopened.version === KILL_AFTER || reopened.version === KILL_AFTER + 1, `version ${reopened.version}`);
    assert.ok(reopened.itemCount >= KILL_AFTER);
    const versions = db.kvs.changesSince(store.id, 0).map((c) => c.version);
    assert.deepEqual(
      versions,
      Array.from({ length: reopened.version }, (_, i) => i + 1),
    );
    if (reopened.version === KILL_AFTER) assert.equal(reopened.etag, acknowledged.at(-1)!.etag);
    else assert.equal(reopened.itemCount, KILL_AFTER + 1);
  } finally {
    db.database.close();
  }
});

it('keeps every acknowledged PutKey across a SIGKILL of openfront control --nats, with no gap in versions', { skip: natsSkipReason() }, async () => {
  const server = await startNatsServer({ storeDir: join(dir, 'nats') });
  const secretFile = join(dir, 'secret.key');
  writeFileSync(secretFile, randomBytes(32).toString('hex'));
  const keys = await runCli(['keys', 'create', '--nats', server.url, '--secret-key-file', secretFile, '--json']);
  assert.equal(keys.code, 0, keys.stderr);
  const credentials = JSON.parse(keys.stdout) as { accessKeyId: string; secretAccessKey: string };
  const apiPort = await freePort();
  const startControl = () =>
    startRoleProcess('control', ['control', '--nats', server.url, '--secret-key-file', secretFile, '--api-port', String(apiPort)], apiPort);
  const agent = loopbackAgent();
  const clientOptions = { region: 'us-east-1', endpoint: `http://localhost:${apiPort}`, credentials, maxAttempts: 1, requestHandler: { httpAgent: agent } };
  let control = await startControl();
  try {
    const cf = new CloudFrontClient(clientOptions);
    const created = await cf.send(new CreateKeyValueStoreCommand({ Name: 'crash' }));
    cf.destroy();
    const arn = created.KeyValueStore!.ARN!;
    const storeId = created.KeyValueStore!.Id!;
    const client = new CloudFrontKeyValueStoreClient(clientOptions);
    let etag = (await client.send(new DescribeKeyValueStoreCommand({ KvsARN: arn }))).ETag!;
    const acknowledged: Array<{ key: string; value: string }> = [];
    const KILL_AFTER = 40;
    let inFlight: Promise<unknown> | undefined;
    for (let i = 0; ; i++) {
      const key = `key-${String(i).padStart(4, '0')}`;
      const value = `value-${i}`;
      const write = client.send(new PutKeyCommand({ KvsARN: arn, Key: key, Value: value, IfMatch: etag }));
      if (acknowledged.length === KILL_AFTER) {
        control.process.kill('SIGKILL');
        inFlight = write.catch(() => undefined);
        break;
      }
      etag = (await write).ETag!;
      acknowledged.push({ key, value });
    }
    await inFlight;
    await control.stop();
    client.destroy();

    control = await startControl();
    const restarted = new CloudFrontKeyValueStoreClient(clientOptions);
    for (const { key, value } of acknowledged) assert.equal((await restarted.send(new GetKeyCommand({ KvsARN: arn, Key: key }))).Value, value, key);
    const described = await restarted.send(new DescribeKeyValueStoreCommand({ KvsARN: arn }));
    restarted.destroy();
    // The write in flight at the kill may or may not have landed; nothing acknowledged may be missing, and the
    // store's versions are its stream's sequences, one per write, with no gap.
    const nats = await connectNats(server.url, { name: 'crash-check' });
    try {
      const state = (await nats.jsm.streams.info(storeStream(storeId))).state;
      assert.ok(state.last_seq === KILL_AFTER || state.last_seq === KILL_AFTER + 1, `version ${state.last_seq}`);
      assert.equal(state.messages, state.last_seq, 'one message per version, none missing');
      assert.equal(described.ItemCount, state.last_seq);
      if (state.last_seq === KILL_AFTER) assert.equal(described.ETag, etag);
    } finally {
      await nats.close();
    }
  } finally {
    agent.destroy();
    await control.stop();
    await server.dispose();
  }
});
