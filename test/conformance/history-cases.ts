/**
 * Store history through the state interfaces (src/state/types.ts), the same cases on every backend: every write is
 * a version with who/when/before→after, reads as of a version, rollback as one If-Match protected write, retention
 * (older than maxAgeDays AND not among the newest minVersions), and history surviving a restart.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isOpenFrontError, type ErrorCode } from '../../src/errors.js';
import type { HistoryRetention } from '../../src/kvs/history.js';
import type { Actor, KeyValue } from '../../src/kvs/types.js';
import type { NodeState } from '../../src/state/types.js';

export interface HistoryUnderTest {
  state: NodeState;
  /** Another handle on the same state: a second control process (JetStream), the same one for SQLite. */
  peer: NodeState;
  /** Closes `state` and opens it again (the SQLite file reopened; a new JetStream control process). */
  restart(): Promise<NodeState>;
  cleanup(): Promise<void>;
}

export type HistoryFactory = (options: { now: () => Date; history?: HistoryRetention }) => Promise<HistoryUnderTest>;

const ALICE: Actor = { accessKeyId: 'AKIAALICE' };
const BOB: Actor = { accessKeyId: 'AKIABOB' };

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode, pattern?: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isOpenFrontError(err), `expected OpenFrontError ${code}, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (pattern) assert.match(err.message, pattern);
    return true;
  });
}

export function describeHistoryConformance(backend: string, factory: HistoryFactory, options: { skip?: string | false } = {}): void {
  describe(`history conformance: ${backend}`, { skip: options.skip }, () => {
    let under: HistoryUnderTest;
    let state: NodeState;
    let clock = new Date('2026-01-01T00:00:00Z');
    let unique = 0;
    const name = (prefix: string) => `${prefix}-${process.pid}-${++unique}`;

    before(async () => {
      under = await factory({ now: () => clock, history: { maxAgeDays: 1, minVersions: 3 } });
      state = under.state;
    });
    after(async () => {
      await under?.cleanup();
    });

    /** Writes a sequence, returning the store's items after each version. */
    async function writeSequence(storeId: string): Promise<Map<number, KeyValue[]>> {
      const snapshots = new Map<number, KeyValue[]>();
      let etag = (await state.stores.getStore({ id: storeId }))!.etag;
      const step = async (write: (ifMatch: string) => Promise<{ etag: string; version: number }>) => {
        const result = await write(etag);
        etag = result.etag;
        snapshots.set(result.version, await state.stores.exportData(storeId));
      };
      await step((m) => state.stores.putKey(storeId, 'a', '1', m, ALICE));
      await step((m) => state.stores.putKey(storeId, 'b', '2', m, BOB));
      await step((m) =>
        state.stores.updateKeys(
          storeId,
          {
            puts: [
              { key: 'a', value: '10' },
              { key: 'c', value: '3' },
            ],
            deletes: ['b'],
          },
          m,
          ALICE,
        ),
      );
      await step((m) => state.stores.deleteKey(storeId, 'c', m, BOB));
      return snapshots;
    }

    it('records every write as a version: who, when, which key, before → after, newest first', async () => {
      clock = new Date('2026-01-01T00:00:00Z');
      const store = await state.stores.createStore({ name: name('hist') }, ALICE);
      const snapshots = await writeSequence(store.id);
      const versions = [...snapshots.keys()];
      const page = await state.stores.history(store.id, {});
      assert.deepEqual(
        page.items.map((r) => [r.operation, r.accessKeyId, r.key, r.before, r.after]),
        [
          ['DeleteKey', 'AKIABOB', 'c', '3', null],
          ['UpdateKeys', 'AKIAALICE', 'a', '1', '10'],
          ['UpdateKeys', 'AKIAALICE', 'c', null, '3'],
          ['UpdateKeys', 'AKIAALICE', 'b', '2', null],
          ['PutKey', 'AKIABOB', 'b', null, '2'],
          ['PutKey', 'AKIAALICE', 'a', null, '1'],
        ],
      );
      assert.deepEqual(
        page.items.map((r) => r.version),
        [versions[3], versions[2], versions[2], versions[2], versions[1], versions[0]],
      );
      assert.equal(page.items[0]!.at.getTime(), clock.getTime());
      assert.equal(page.nextMarker, undefined);

      const onlyA = await state.stores.history(store.id, { key: 'a' });
      assert.deepEqual(
        onlyA.items.map((r) => r.after),
        ['10', '1'],
      );
      const ranged = await state.stores.history(store.id, { from: versions[1], to: versions[2] });
      assert.deepEqual(
        ranged.items.map((r) => r.version),
        [versions[2], versions[2], versions[2], versions[1]],
      );

      // Pages of 2 walk the same rows with markers.
      const walked: string[] = [];
      let marker: string | undefined;
      do {
        const p = await state.stores.history(store.id, { limit: 2, ...(marker === undefined ? {} : { marker }) });
        assert.ok(p.items.length <= 2);
        walked.push(...p.items.map((r) => `${r.version}:${r.key}`));
        marker = p.nextMarker;
      } while (marker !== undefined);
      assert.deepEqual(
        walked,
        page.items.map((r) => `${r.version}:${r.key}`),
      );
    });

    it('reads the store as of every version it went through', async () => {
      const store = await state.stores.createStore({ name: name('asof'), importItems: [{ key: 'seed', value: 's' }] }, ALICE);
      const created = (await state.stores.getStore({ id: store.id }))!;
      const snapshots = await writeSequence(store.id);
      const seed = await state.stores.itemsAt(store.id, created.version);
      assert.deepEqual(seed.items, [{ key: 'seed', value: 's' }]);
      for (const [version, items] of snapshots) assert.deepEqual((await state.stores.itemsAt(store.id, version)).items, items, `version ${version}`);
      assert.deepEqual((await state.stores.itemsAt(store.id, 0)).items, []);
      const current = (await state.stores.getStore({ id: store.id }))!.version;
      await rejectsWith(state.stores.itemsAt(store.id, current + 1), 'KVS_VERSION_NOT_FOUND', new RegExp(`current version is ${current}`));
      // The peer (another control process on JetStream) reads the same history.
      assert.deepEqual((await under.peer.stores.itemsAt(store.id, [...snapshots.keys()][1]!)).items, [...snapshots.values()][1]);
    });

    it('a bulk import that wipes a store, then a rollback to the version before, restores every key (one audited write)', async () => {
      // 320 values of 900 bytes: the history entries of the import, the wipe and the rollback each outgrow one
      // JetStream message part (256 KB) and are stored in several.
      const items = Array.from({ length: 320 }, (_, i) => ({ key: `k${String(i).padStart(3, '0')}`, value: `v${i}`.padEnd(900, '.') }));
      const store = await state.stores.createStore({ name: name('wipe') }, ALICE);
      const loaded = await state.stores.importData(store.id, items, { mode: 'merge' }, ALICE);
      const wiped = await state.stores.importData(store.id, [{ key: 'only', value: 'x' }], { mode: 'replace', ifMatch: loaded.etag }, BOB);
      assert.equal(wiped.itemCount, 1);

      await rejectsWith(state.stores.rollback(store.id, loaded.version, undefined, ALICE), 'KVS_CONFLICT', /If-Match is required/);
      await rejectsWith(state.stores.rollback(store.id, loaded.version, loaded.etag, ALICE), 'KVS_CONFLICT');
      assert.equal((await state.stores.getStore({ id: store.id }))!.version, wiped.version, 'a refused rollback writes nothing');

      const rolled = await state.stores.rollback(store.id, loaded.version, wiped.etag, ALICE);
      assert.ok(rolled.version > wiped.version);
      assert.equal(rolled.itemCount, 320);
      assert.deepEqual(await state.stores.exportData(store.id), items);
      const audit = await state.audit.list({ storeId: store.id, limit: 1 });
      assert.equal(audit[0]!.operation, 'Rollback');
      assert.equal(audit[0]!.detail?.toVersion, loaded.version);
      const newest = await state.stores.history(store.id, { limit: 1 });
      assert.equal(newest.items[0]!.operation, 'Rollback');
      assert.equal(newest.items[0]!.version, rolled.version);
      // The rollback is itself a version: undoing it returns to the wiped store.
      assert.deepEqual((await state.stores.itemsAt(store.id, wiped.version)).items, [{ key: 'only', value: 'x' }]);
    });

    it('validates query bounds before reading', async () => {
      const store = await state.stores.createStore({ name: name('bounds') }, ALICE);
      await rejectsWith(state.stores.history(store.id, { limit: 0 }), 'BAD_REQUEST');
      await rejectsWith(state.stores.history(store.id, { limit: 1_000_000 }), 'BAD_REQUEST');
      await rejectsWith(state.stores.history(store.id, { limit: 1.5 }), 'BAD_REQUEST');
      await rejectsWith(state.stores.history(store.id, { from: -1 }), 'BAD_REQUEST');
      await rejectsWith(state.stores.history(store.id, { from: 5, to: 2 }), 'BAD_REQUEST');
      await rejectsWith(state.stores.history(store.id, { key: 'k'.repeat(1025) }), 'BAD_REQUEST');
      await rejectsWith(state.stores.history(store.id, { marker: 'not-a-marker' }), 'BAD_REQUEST');
      await rejectsWith(state.stores.itemsAt(store.id, -1), 'BAD_REQUEST');
      await rejectsWith(state.stores.history('00000000-0000-0000-0000-000000000000', {}), 'KVS_NOT_FOUND');
    });

    it('keeps entries younger than maxAgeDays or among the newest minVersions, drops the rest', async () => {
      clock = new Date('2026-02-01T00:00:00Z');
      const store = await state.stores.createStore({ name: name('retain') }, ALICE);
      let etag = store.etag;
      const versions: number[] = [];
      for (let i = 0; i < 6; i++) {
        const w = await state.stores.putKey(store.id, `k${i}`, 'v', etag, ALICE);
        etag = w.etag;
        versions.push(w.version);
      }
      assert.equal(await state.stores.compactHistory(store.id), 0, 'young entries stay, even beyond minVersions');
      assert.equal((await state.stores.history(store.id, {})).items.length, 6);

      clock = new Date('2026-02-03T00:00:00Z');
      assert.equal(await state.stores.compactHistory(store.id), 3, 'old entries beyond the newest 3 go');
      const kept = await state.stores.history(store.id, {});
      assert.deepEqual(
        kept.items.map((r) => r.version),
        versions.slice(3).reverse(),
      );
      const oldest = versions[2]!;
      assert.deepEqual(
        (await state.stores.itemsAt(store.id, oldest)).items.map((i) => i.key),
        ['k0', 'k1', 'k2'],
      );
      await rejectsWith(state.stores.itemsAt(store.id, versions[1]!), 'KVS_VERSION_EXPIRED', new RegExp(`oldest version kept is ${oldest}\\b`));
      await rejectsWith(state.stores.rollback(store.id, versions[0]!, etag, ALICE), 'KVS_VERSION_EXPIRED');
      clock = new Date('2026-01-01T00:00:00Z');
    });

    it('drops a deleted store history with it', async () => {
      const storeName = name('gone');
      const store = await state.stores.createStore({ name: storeName }, ALICE);
      await state.stores.putKey(store.id, 'k', 'v', store.etag, ALICE);
      await state.stores.deleteStore(storeName, store.metadataEtag, ALICE);
      const again = await state.stores.createStore({ name: storeName, id: store.id }, ALICE);
      assert.deepEqual((await state.stores.history(again.id, {})).items, []);
    });

    it('keeps history and as-of reads across a restart', async () => {
      const store = await state.stores.createStore({ name: name('restart') }, ALICE);
      const snapshots = await writeSequence(store.id);
      const before = await state.stores.history(store.id, {});
      state = await under.restart();
      assert.deepEqual(await state.stores.history(store.id, {}), before);
      for (const [version, items] of snapshots) assert.deepEqual((await state.stores.itemsAt(store.id, version)).items, items);
    });
  });
}
