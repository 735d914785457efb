/**
 * Writes bigger than one NATS message against a real nats-server (issue 13): a 5 MB import, in replace and in merge
 * mode, goes through the journal in several parts and an edge's replica shows it whole or not at all; the part size
 * follows the `max_payload` the server announces; a writer killed between parts leaves nothing visible anywhere and
 * the next writer carries on; a writer killed after its last part but before its ops is rolled forward from the parts.
 */
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { KeyValue } from '../../src/kvs/types.js';
import { connectNats, type NatsConnectionHandle } from '../../src/state/jetstream/connection.js';
import { encodeKey, JOURNAL_PART_PREFIX, storeBucket, storeStream } from '../../src/state/jetstream/key-codec.js';
import { encodeJournal } from '../../src/state/jetstream/kv-data/journal.js';
import { JetStreamStoreReplica } from '../../src/state/jetstream/kv-data/replica.js';
import { StoreDataWriter } from '../../src/state/jetstream/kv-data/writer.js';
import { natsSkipReason, startNatsServer, type NatsServer } from '../helpers/nats-server.js';

const WRITER_CHILD = fileURLToPath(new URL('./fixtures/fleet-writer-child.js', import.meta.url));

/** `count` items of about `valueBytes` each, every value tagged so that a torn batch shows as a mix of tags. */
function items(tag: string, count: number, valueBytes: number): KeyValue[] {
  return Array.from({ length: count }, (_, i) => ({ key: `key/${String(i).padStart(5, '0')}`, value: `${tag}:${'x'.repeat(valueBytes)}` }));
}

/** The tags a replica's snapshot holds over `keys` ('-' for an absent key). */
function tagsOf(replica: JetStreamStoreReplica, keys: string[]): Set<string> {
  const snap = replica.snapshot();
  return new Set(keys.map((k) => snap.get(k)?.split(':')[0] ?? '-'));
}

/** A replica that records, after every message it applies, which batch tags its data shows. */
function watchedReplica(conn: NatsConnectionHandle, storeId: string, keys: string[]) {
  const seen: Array<{ version: number; tags: string[] }> = [];
  const replica = new JetStreamStoreReplica({
    storeId,
    onApplied: (version) => seen.push({ version, tags: [...tagsOf(replica, keys)].sort() }),
  });
  replica.follow(conn);
  return { replica, seen };
}

/** How many journal part messages the stream holds now. */
async function partMessages(conn: NatsConnectionHandle, storeId: string): Promise<number> {
  const info = await conn.jsm.streams.info(storeStream(storeId), { subjects_filter: `$KV.${storeBucket(storeId)}.${JOURNAL_PART_PREFIX}>` });
  return Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
}

async function startWriterChild(url: string, storeId: string) {
  const child: ChildProcess = fork(WRITER_CHILD, [url, storeId], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const next = () =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const onMessage = (m: unknown) => {
        child.off('exit', onExit);
        resolve(m as Record<string, unknown>);
      };
      const onExit = () => {
        child.off('message', onMessage);
        reject(new Error('writer child exited'));
      };
      child.once('message', onMessage);
      child.once('exit', onExit);
    });
  assert.equal((await next()).ready, true);
  return {
    ask(command: object) {
      const answer = next();
      child.send(command);
      return answer;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

describe('fleet store: writes bigger than one NATS message', { skip: natsSkipReason() }, () => {
  describe('on a server with the default max_payload (1 MiB)', () => {
    let server: NatsServer;
    let nats: NatsConnectionHandle;
    let edge: NatsConnectionHandle;

    before(async () => {
      server = await startNatsServer();
      // A 5 MB import is thousands of publishes: a busy test machine must not time them out.
      nats = await connectNats(server.url, { name: 'big-writes-writer', timeoutMs: 15_000 });
      edge = await connectNats(server.url, { name: 'big-writes-edge' });
    });

    after(async () => {
      await nats?.close();
      await edge?.close();
      await server?.dispose();
    });

    it('imports 5 MB in replace then merge mode; an edge shows each import whole, never a part of it', async () => {
      const storeId = randomUUID();
      const writer = await StoreDataWriter.open(nats, storeId);
      // Keys spread over the whole store: a batch applied in pieces would show a mix of tags among them.
      const keys = items('none', 5000, 0)
        .map((i) => i.key)
        .filter((_, i) => i % 250 === 0 || i === 4999);
      await writer.update({ puts: items('old', 10, 10) }, { actor: 'test' });
      const { replica, seen } = watchedReplica(edge, storeId, keys);
      await replica.whenCaughtUp();

      const first = items('A', 5000, 1000); // 5,000 keys of ~1 KB: a 5 MB store
      const journalBytes = encodeJournal({
        txid: randomUUID(),
        puts: first,
        deletes: [],
        replace: true,
        at: new Date().toISOString(),
        actor: 'test',
      }).byteLength;
      const maxPayload = nats.nc.info!.max_payload;
      assert.equal(maxPayload, 1024 * 1024, 'the server announces its default max_payload');
      const before = (await writer.status()).version;
      const replaced = await writer.replaceAll(first, { actor: 'test' });
      const parts = await partMessages(nats, storeId);
      assert.ok(parts >= Math.ceil(journalBytes / maxPayload), `${parts} parts for a ${journalBytes}-byte journal`);
      // The parts, then one op per key (the 10 old keys are among the 5,000 put, so none is deleted).
      assert.equal(replaced.version, before + parts + 5000);
      assert.equal(replaced.itemCount, 5000);
      assert.ok(replaced.totalSizeInBytes > 5_000_000);
      await replica.whenVersion(replaced.version);
      assert.deepEqual([...tagsOf(replica, keys)], ['A']);

      const second = items('B', 5000, 1000);
      const merged = await writer.update({ puts: second }, { actor: 'test' });
      await replica.whenVersion(merged.version);
      assert.deepEqual([...tagsOf(replica, keys)], ['B']);

      // What the edge served after every message it applied: the 10 old keys, then all of A, then all of B.
      const states = [...new Set(seen.map((s) => s.tags.join(',')))];
      assert.deepEqual(states, ['-,old', 'A', 'B']);
      await replica.close();

      // A new edge loads the whole store; a new writer reads the same.
      const cold = new JetStreamStoreReplica({ storeId });
      cold.follow(edge);
      await cold.whenCaughtUp();
      assert.equal(cold.version, merged.version);
      assert.deepEqual([...tagsOf(cold, keys)], ['B']);
      assert.equal(cold.snapshot().meta().keyCount, 5000);
      await cold.close();
      const fresh = await StoreDataWriter.open(edge, storeId);
      assert.deepEqual(await fresh.status(), await writer.status());
    });
  });

  describe('on a server with max_payload 64 KB', () => {
    let server: NatsServer;
    let nats: NatsConnectionHandle;
    let edge: NatsConnectionHandle;

    before(async () => {
      server = await startNatsServer({ maxPayloadBytes: 64 * 1024 });
      nats = await connectNats(server.url, { name: 'small-payload-writer' });
      edge = await connectNats(server.url, { name: 'small-payload-edge' });
    });

    after(async () => {
      await nats?.close();
      await edge?.close();
      await server?.dispose();
    });

    it('cuts the journal at the max_payload the connection reports', async () => {
      assert.equal(nats.nc.info!.max_payload, 64 * 1024);
      const storeId = randomUUID();
      const writer = await StoreDataWriter.open(nats, storeId);
      const batch = items('A', 300, 1000); // ~310 KB of journal
      const r = await writer.update({ puts: batch }, { actor: 'test' });
      const parts = await partMessages(nats, storeId);
      const journalBytes = encodeJournal({
        txid: randomUUID(),
        puts: batch,
        deletes: [],
        replace: false,
        at: new Date().toISOString(),
        actor: 'test',
      }).byteLength;
      assert.equal(parts, Math.ceil(journalBytes / (64 * 1024 - 1024)));
      assert.equal(r.version, parts + 300);
    });

    it('a writer killed between parts: nothing visible on an edge, recover() discards the parts, the next write lands', async () => {
      const storeId = randomUUID();
      const writer = await StoreDataWriter.open(nats, storeId);
      const keys = items('none', 300, 0).map((i) => i.key);
      const base = await writer.update({ puts: items('old', 300, 10) }, { actor: 'test' });
      const { replica, seen } = watchedReplica(edge, storeId, keys);
      await replica.whenVersion(base.version);

      const child = await startWriterChild(server.url, storeId);
      try {
        // Two of the journal's parts are acknowledged, then the process dies.
        const stopped = await child.ask({ op: 'replaceAll', puts: items('torn', 300, 1000), stopAfterPublishes: 2 });
        assert.equal(stopped.stopped, true);
      } finally {
        await child.kill();
      }
      const lastSeq = (await nats.jsm.streams.info(storeStream(storeId))).state.last_seq;
      assert.equal(lastSeq, base.version + 2, 'two parts reached the stream');
      await replica.whenVersion(lastSeq);
      assert.deepEqual([...tagsOf(replica, keys)], ['old']);

      // A new writer (and the old one) carry on after the orphan parts; nothing of the torn batch shows anywhere.
      const recovered = await StoreDataWriter.open(edge, storeId);
      assert.equal(await recovered.recover(), lastSeq);
      assert.equal(await recovered.get(keys[0]!), items('old', 1, 10)[0]!.value);
      const next = await writer.update({ puts: items('new', 300, 1000) }, { actor: 'test' });
      await replica.whenVersion(next.version);
      assert.deepEqual([...tagsOf(replica, keys)], ['new']);
      assert.deepEqual([...new Set(seen.map((s) => s.tags.join(',')))], ['old', 'new']);
      await replica.close();

      const cold = new JetStreamStoreReplica({ storeId });
      cold.follow(edge);
      await cold.whenCaughtUp();
      assert.deepEqual([...tagsOf(cold, keys)], ['new']);
      await cold.close();
    });

    it('a writer killed after its last part but before its ops: every edge shows the batch, recover() rolls it forward', async () => {
      const storeId = randomUUID();
      const writer = await StoreDataWriter.open(nats, storeId);
      const keys = items('none', 300, 0).map((i) => i.key);
      const base = await writer.update({ puts: items('old', 300, 10) }, { actor: 'test' });
      const { replica, seen } = watchedReplica(edge, storeId, keys);
      await replica.whenVersion(base.version);
      const batch = items('whole', 300, 1000);
      const parts = Math.ceil(
        encodeJournal({ txid: randomUUID(), puts: batch, deletes: [], replace: false, at: new Date().toISOString(), actor: 'x' }).byteLength /
          (64 * 1024 - 1024),
      );

      const child = await startWriterChild(server.url, storeId);
      try {
        const stopped = await child.ask({ op: 'update', puts: batch, stopAfterPublishes: parts + 5 });
        assert.equal(stopped.stopped, true);
      } finally {
        await child.kill();
      }
      const lastSeq = (await nats.jsm.streams.info(storeStream(storeId))).state.last_seq;
      assert.equal(lastSeq, base.version + parts + 5, 'every part and 5 ops reached the stream');
      await replica.whenVersion(lastSeq);
      assert.deepEqual([...tagsOf(replica, keys)], ['whole']);

      const recovered = await StoreDataWriter.open(edge, storeId);
      assert.equal(await recovered.recover(), base.version + parts + 300);
      // The last op is in the stream itself now, not only in the journal.
      const kv = await nats.kvm.open(storeBucket(storeId));
      assert.equal((await kv.get(encodeKey(keys[299]!)))?.string().split(':')[0], 'whole');
      await replica.whenVersion(base.version + parts + 300);
      assert.deepEqual([...new Set(seen.map((s) => s.tags.join(',')))], ['old', 'whole']);
      assert.deepEqual(await recovered.status(), await writer.status());
      await replica.close();
    });
  });
});
