/**
 * JetStreamStoreReplica against a real nats-server: a cold load, live changes in order with batches applied whole,
 * a restart from the snapshot file that fetches only what it missed, a reload when the stream is not the one the
 * copy came from, and catching up after a cut link.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connectNats, type NatsConnectionHandle } from '../../src/state/jetstream/connection.js';
import { JetStreamStoreReplica } from '../../src/state/jetstream/kv-data/replica.js';
import { EdgeStateFile } from '../../src/state/jetstream/kv-data/snapshot-file.js';
import { StoreDataWriter } from '../../src/state/jetstream/kv-data/writer.js';
import { natsSkipReason, startNatsServer, startTcpProxy, type NatsServer } from '../helpers/nats-server.js';

function contents(replica: JetStreamStoreReplica, keys: string[]): Record<string, string | undefined> {
  const snap = replica.snapshot();
  return Object.fromEntries(keys.map((k) => [k, snap.get(k)]));
}

describe('fleet store replica', { skip: natsSkipReason() }, () => {
  let server: NatsServer;
  let nats: NatsConnectionHandle;
  let edge: NatsConnectionHandle;
  const dirs: string[] = [];
  const stateDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'openfront-edge-state-'));
    dirs.push(d);
    return d;
  };

  before(async () => {
    server = await startNatsServer();
    nats = await connectNats(server.url, { name: 'replica-test-writer' });
    edge = await connectNats(server.url, { name: 'replica-test-edge' });
  });

  after(async () => {
    await nats?.close();
    await edge?.close();
    await server?.dispose();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('loads a store cold, then applies changes in order, each batch all at once', async () => {
    const id = randomUUID();
    const w = await StoreDataWriter.open(nats, id);
    for (let i = 0; i < 20; i++) await w.put(`k${i}`, `v${i}`, { actor: 'x' });
    await w.update(
      {
        puts: [
          { key: 'k0', value: 'batch' },
          { key: 'k1', value: 'batch' },
        ],
        deletes: ['k2'],
      },
      { actor: 'x' },
    );

    const seen: Array<{ version: number; keyCount: number; k0?: string; k1?: string; k2?: string; k3?: string }> = [];
    const replica = new JetStreamStoreReplica({
      storeId: id,
      onApplied: (version) => seen.push({ version, keyCount: replica.snapshot().meta().keyCount, ...contents(replica, ['k0', 'k1', 'k2', 'k3']) }),
    });
    replica.follow(edge);
    await replica.whenCaughtUp();
    const status = await w.status();
    // The cold load was swapped in whole: the first version served is the stream's, with every key.
    assert.deepEqual(seen[0], { version: status.version, keyCount: 19, k0: 'batch', k1: 'batch', k2: undefined, k3: 'v3' });
    assert.equal(replica.version, status.version);
    assert.equal(replica.snapshot().meta().keyCount, 19);
    assert.deepEqual(contents(replica, ['k0', 'k1', 'k2', 'k19']), { k0: 'batch', k1: 'batch', k2: undefined, k19: 'v19' });

    // A live batch: the first version at which any of it shows has all of it.
    seen.length = 0;
    const r = await w.update(
      {
        puts: [
          { key: 'k0', value: 'B2' },
          { key: 'k3', value: 'B2' },
        ],
        deletes: ['k1'],
      },
      { actor: 'x' },
    );
    await replica.whenVersion(r.version);
    const first = seen.find((s) => s.k0 === 'B2' || s.k3 === 'B2' || s.k1 === undefined);
    assert.ok(first, JSON.stringify(seen));
    assert.deepEqual({ k0: first.k0, k1: first.k1, k3: first.k3 }, { k0: 'B2', k1: undefined, k3: 'B2' }, JSON.stringify(seen));
    assert.equal(first.version, r.version - 3, 'applied at the journal message');
    await replica.close();
  });

  it('restarts from its snapshot file, serving before it connects and fetching only what it missed', async () => {
    const id = randomUUID();
    const dir = stateDir();
    const w = await StoreDataWriter.open(nats, id);
    await w.update({ puts: Array.from({ length: 200 }, (_, i) => ({ key: `key${i}`, value: `v${i}` })) }, { actor: 'x' });
    let file = new EdgeStateFile(dir);
    let replica = new JetStreamStoreReplica({ storeId: id, stateFile: file });
    replica.follow(edge);
    await replica.whenCaughtUp();
    const loadedAt = replica.version;
    await replica.close();
    file.close();

    // Missed while the edge was down: 3 writes.
    await w.put('key1', 'changed', { actor: 'x' });
    await w.delete('key2', { actor: 'x' });
    const last = await w.put('new', 'n', { actor: 'x' });

    file = new EdgeStateFile(dir);
    replica = new JetStreamStoreReplica({ storeId: id, stateFile: file });
    assert.equal(replica.version, loadedAt, 'serves the saved version before following');
    assert.equal(replica.snapshot().get('key1'), 'v1');
    replica.follow(edge);
    await replica.whenVersion(last.version);
    assert.equal(replica.received, 3, 'only the missed messages were fetched');
    assert.deepEqual(contents(replica, ['key1', 'key2', 'new', 'key199']), { key1: 'changed', key2: undefined, new: 'n', key199: 'v199' });
    await replica.close();
    file.close();
  });

  it('reloads from scratch when the stream is not the one its copy came from', async () => {
    const id = randomUUID();
    const dir = stateDir();
    const w = await StoreDataWriter.open(nats, id);
    for (let i = 0; i < 5; i++) await w.put(`old${i}`, 'x', { actor: 'x' });
    let file = new EdgeStateFile(dir);
    let replica = new JetStreamStoreReplica({ storeId: id, stateFile: file });
    replica.follow(edge);
    await replica.whenCaughtUp();
    await replica.close();
    file.close();

    // The stream is recreated (a wiped server, a restored backup …) and holds other data, at a higher version.
    await w.destroy();
    const w2 = await StoreDataWriter.open(nats, id);
    const r = await w2.update({ puts: Array.from({ length: 8 }, (_, i) => ({ key: `new${i}`, value: 'y' })) }, { actor: 'x' });
    file = new EdgeStateFile(dir);
    replica = new JetStreamStoreReplica({ storeId: id, stateFile: file });
    replica.follow(edge);
    await replica.whenVersion(r.version);
    assert.equal(replica.reloads, 1);
    assert.equal(replica.snapshot().get('old0'), undefined);
    assert.equal(replica.snapshot().meta().keyCount, 8);
    await replica.close();
    // The file now holds the new stream's copy.
    assert.equal(file.loadStore(id)?.items.size, 8);
    file.close();
  });

  it('catches up after its link is cut while writes go on', async () => {
    const id = randomUUID();
    const w = await StoreDataWriter.open(nats, id);
    await w.put('a', '0', { actor: 'x' });
    const proxy = await startTcpProxy(server.port);
    const behind = await connectNats(proxy.url, { name: 'replica-behind-proxy' });
    const replica = new JetStreamStoreReplica({ storeId: id });
    try {
      replica.follow(behind);
      await replica.whenCaughtUp();
      const lost = new Promise<void>((resolve) => behind.onConnectionChange((e) => e === 'disconnect' && resolve()));
      proxy.cut();
      await lost;
      let last = 0;
      for (let i = 0; i < 30; i++) last = (await w.put(`k${i % 7}`, `v${i}`, { actor: 'x' })).version;
      last = (
        await w.update(
          {
            puts: [
              { key: 'a', value: 'batch' },
              { key: 'b', value: 'batch' },
            ],
          },
          { actor: 'x' },
        )
      ).version;
      assert.equal(replica.snapshot().get('a'), '0', 'serves its last data while cut off');
      proxy.restore();
      await replica.whenVersion(last);
      assert.deepEqual(contents(replica, ['a', 'b', 'k1']), { a: 'batch', b: 'batch', k1: 'v29' });
    } finally {
      await replica.close();
      await behind.close();
      await proxy.close();
    }
  });
});
