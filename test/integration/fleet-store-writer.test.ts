/**
 * StoreDataWriter against a real nats-server: versions are stream sequences, If-Match is the expected last sequence
 * (two writers racing from one version: exactly one wins), batches go through the journal and land contiguous, a
 * batch left unfinished by a dead writer is rolled forward, and a write while NATS is down fails at once.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { dataEtag } from '../../src/kvs/etag.js';
import { connectNats, type NatsConnectionHandle } from '../../src/state/jetstream/connection.js';
import { encodeKey, journalSubject, keySubject, storeStream } from '../../src/state/jetstream/key-codec.js';
import { encodeJournal, type Journal } from '../../src/state/jetstream/kv-data/journal.js';
import { StoreDataWriter } from '../../src/state/jetstream/kv-data/writer.js';
import { openFrontRejectionOf } from '../helpers/errors.js';
import { natsSkipReason, startNatsServer, type NatsServer } from '../helpers/nats-server.js';

describe('fleet store data writer', { skip: natsSkipReason() }, () => {
  let server: NatsServer;
  let nats: NatsConnectionHandle;
  let other: NatsConnectionHandle;

  before(async () => {
    server = await startNatsServer();
    nats = await connectNats(server.url, { name: 'writer-test' });
    other = await connectNats(server.url, { name: 'writer-test-2' });
  });

  after(async () => {
    await nats?.close();
    await other?.close();
    await server?.dispose();
  });

  const lastSeq = async (storeId: string) => (await nats.jsm.streams.info(storeStream(storeId))).state.last_seq;

  it('versions writes with the stream sequence and reads them back consistently', async () => {
    const id = randomUUID();
    const w = await StoreDataWriter.open(nats, id);
    assert.deepEqual(await w.status(), { version: 0, etag: dataEtag(id, 0), itemCount: 0, totalSizeInBytes: 0 });
    const r1 = await w.put('b', 'two', { actor: 'local' });
    assert.equal(r1.version, 1);
    assert.equal(r1.etag, dataEtag(id, 1));
    assert.deepEqual(r1.changes, [{ key: 'b', before: null, after: 'two' }]);
    const r2 = await w.update(
      {
        puts: [
          { key: 'a', value: 'one' },
          { key: 'c', value: 'three' },
        ],
        deletes: ['b'],
      },
      { actor: 'local', expectedVersion: 1 },
    );
    // One journal message and three materialised ops.
    assert.equal(r2.version, 5);
    assert.equal(await lastSeq(id), 5);
    assert.equal(r2.itemCount, 2);
    assert.equal(r2.totalSizeInBytes, 'aone'.length + 'cthree'.length);
    assert.equal(await w.get('a'), 'one');
    assert.equal(await w.get('b'), undefined);
    assert.deepEqual((await w.list({ limit: 10 })).items, [
      { key: 'a', value: 'one' },
      { key: 'c', value: 'three' },
    ]);
    assert.deepEqual((await w.list({ after: 'a', limit: 10 })).items, [{ key: 'c', value: 'three' }]);
    // Another writer (another control process) sees the same state at the same version.
    const w2 = await StoreDataWriter.open(other, id);
    assert.deepEqual(await w2.status(), await w.status());
    const d = await w2.delete('c', { actor: 'k2', expectedVersion: 5 });
    assert.equal(d.version, 6);
    assert.equal(await w.get('c'), undefined, 'the first writer catches up on read');
    const kv = await nats.kvm.open(`ofkv_${id}`);
    assert.equal((await kv.get(encodeKey('a')))?.string(), 'one', 'plain KV clients read the data too');
  });

  it('refuses a stale If-Match with KVS_CONFLICT and writes nothing', async () => {
    const id = randomUUID();
    const w = await StoreDataWriter.open(nats, id);
    await w.put('k', 'v1', { actor: 'local' });
    await w.put('k', 'v2', { actor: 'local' });
    const err = await openFrontRejectionOf(w.put('k', 'stale', { actor: 'local', expectedVersion: 1 }));
    assert.equal(err.code, 'KVS_CONFLICT');
    assert.equal(err.status, 409);
    assert.equal(await lastSeq(id), 2);
    assert.equal(await w.get('k'), 'v2');
  });

  it('lets exactly one of two writers racing from the same version win, many times over', async () => {
    const id = randomUUID();
    const a = await StoreDataWriter.open(nats, id);
    const b = await StoreDataWriter.open(other, id);
    for (let round = 0; round < 20; round++) {
      const v = (await a.status()).version;
      await b.recover();
      const results = await Promise.allSettled([
        a.update(
          {
            puts: [
              { key: 'x', value: `a${round}` },
              { key: 'y', value: `a${round}` },
            ],
          },
          { actor: 'a', expectedVersion: v },
        ),
        b.update(
          {
            puts: [
              { key: 'x', value: `b${round}` },
              { key: 'y', value: `b${round}` },
            ],
          },
          { actor: 'b', expectedVersion: v },
        ),
      ]);
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r) => r.status === 'rejected');
      assert.equal(won.length, 1, `round ${round}: ${JSON.stringify(results.map((r) => r.status))}`);
      assert.equal((lost[0] as PromiseRejectedResult).reason.code, 'KVS_CONFLICT');
      const s = await a.status();
      assert.equal(s.version, v + 3);
      assert.equal(await a.get('x'), await a.get('y'), 'the winner wrote both keys');
    }
  });

  it('retries a write without If-Match on the new version when another writer got there first', async () => {
    const id = randomUUID();
    const a = await StoreDataWriter.open(nats, id);
    const b = await StoreDataWriter.open(other, id);
    await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).put(`k${i}`, `v${i}`, { actor: 'x' })));
    assert.equal((await a.status()).itemCount, 10);
    assert.equal(await lastSeq(id), 10);
  });

  it('replaces the whole store atomically, deleting the keys it does not keep', async () => {
    const id = randomUUID();
    const w = await StoreDataWriter.open(nats, id);
    await w.update(
      {
        puts: [
          { key: 'old1', value: '1' },
          { key: 'keep', value: 'k' },
          { key: 'old2', value: '2' },
        ],
      },
      { actor: 'x' },
    );
    const r = await w.replaceAll(
      [
        { key: 'keep', value: 'K' },
        { key: 'new', value: 'n' },
      ],
      { actor: 'x' },
    );
    assert.deepEqual((await w.all()).items, [
      { key: 'keep', value: 'K' },
      { key: 'new', value: 'n' },
    ]);
    assert.equal(r.version, 4 + 1 + 4, 'journal + 2 puts + 2 deletes after the first batch');
    const kv = await nats.kvm.open(`ofkv_${id}`);
    assert.equal(await kv.get(encodeKey('old1')).then((e) => e?.operation), 'DEL');
  });

  it('rolls forward a batch whose writer died after the journal and part of its ops', async () => {
    const id = randomUUID();
    const w = await StoreDataWriter.open(nats, id);
    await w.put('before', 'x', { actor: 'x' });
    // A writer that dies after the journal (at 2) and 2 of its 5 ops.
    const journal: Journal = {
      txid: randomUUID(),
      puts: [1, 2, 3, 4].map((i) => ({ key: `k${i}`, value: `v${i}` })),
      deletes: ['before'],
      replace: false,
      at: new Date().toISOString(),
      actor: 'dead',
    };
    await nats.js.publish(journalSubject(id), encodeJournal(journal), { expect: { lastSequence: 1 } });
    await nats.js.publish(keySubject(id, 'k1'), Buffer.from('v1'), { expect: { lastSequence: 2 } });
    await nats.js.publish(keySubject(id, 'k2'), Buffer.from('v2'), { expect: { lastSequence: 3 } });
    assert.equal(await lastSeq(id), 4);
    const kv = await nats.kvm.open(`ofkv_${id}`);
    assert.equal(await kv.get(encodeKey('k3')), null, 'not materialised yet');

    // The surviving writer's next write conflicts, recovers, and lands after the finished batch.
    const r = await w.put('after', 'y', { actor: 'x' });
    assert.equal(r.version, 2 + 5 + 1);
    for (const i of [1, 2, 3, 4]) assert.equal((await kv.get(encodeKey(`k${i}`)))?.string(), `v${i}`);
    assert.equal((await kv.get(encodeKey('before')))?.operation, 'DEL');

    // recover() on a fresh writer is a no-op on a finished stream.
    const fresh = await StoreDataWriter.open(other, id);
    assert.equal(await fresh.recover(), 8);
  });

  it('rolls forward at open() too, and a stale If-Match after the dead batch conflicts', async () => {
    const id = randomUUID();
    const w = await StoreDataWriter.open(nats, id);
    const journal: Journal = {
      txid: randomUUID(),
      puts: [
        { key: 'a', value: '1' },
        { key: 'b', value: '2' },
      ],
      deletes: [],
      replace: false,
      at: '',
      actor: 'dead',
    };
    await nats.js.publish(journalSubject(id), encodeJournal(journal), { expect: { lastSequence: 0 } });
    const recovered = await StoreDataWriter.open(other, id);
    assert.equal((await recovered.status()).version, 3);
    assert.equal((await openFrontRejectionOf(w.put('a', 'x', { actor: 'x', expectedVersion: 0 }))).code, 'KVS_CONFLICT');
    assert.equal(await w.get('b'), '2');
  });

  it('fails at once with STATE_UNAVAILABLE while NATS is down, writing nothing, and works again once it is back', async () => {
    const id = randomUUID();
    const w = await StoreDataWriter.open(nats, id);
    await w.put('k', 'v', { actor: 'x' });
    const down = new Promise<void>((resolve) => nats.onConnectionChange((e) => e === 'disconnect' && resolve()));
    await server.stop();
    await down;
    const started = Date.now();
    const err = await openFrontRejectionOf(
      w.update(
        {
          puts: [
            { key: 'a', value: '1' },
            { key: 'b', value: '2' },
          ],
        },
        { actor: 'x' },
      ),
    );
    assert.equal(err.code, 'STATE_UNAVAILABLE');
    assert.equal(err.status, 503);
    assert.ok(Date.now() - started < 500, `failed fast (${Date.now() - started} ms)`);
    await server.restart();
    await nats.whenConnected();
    assert.equal(await lastSeq(id), 1, 'nothing was written');
    const r = await w.update(
      {
        puts: [
          { key: 'a', value: '1' },
          { key: 'b', value: '2' },
        ],
      },
      { actor: 'x' },
    );
    assert.equal(r.version, 4);
  });
});
