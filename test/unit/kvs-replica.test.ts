import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isOpenFrontError } from '../../src/errors.js';
import { openSqliteState } from '../../src/state/sqlite/index.js';
import { KvsReplica, ReplicaSet } from '../../src/kvs/replica.js';
import type { ChangeRecord } from '../../src/kvs/types.js';

const actor = { accessKeyId: 'local' };

function setup() {
  let t = Date.UTC(2024, 5, 1);
  const db = openSqliteState(':memory:', { now: () => new Date((t += 1000)) });
  const store = db.kvs.createStore(
    {
      name: 'edge',
      importItems: [
        { key: 'a', value: '1' },
        { key: 'b', value: '2' },
      ],
    },
    actor,
  );
  return { db, store };
}

describe('KvsReplica', () => {
  it('loads the whole store at its current version', () => {
    const { db, store } = setup();
    const replica = KvsReplica.load(db.kvs, store.id);
    assert.equal(replica.storeId, store.id);
    assert.equal(replica.version, 1);
    const snap = replica.snapshot();
    assert.equal(snap.id, store.id);
    assert.equal(snap.version, 1);
    assert.equal(snap.get('a'), '1');
    assert.equal(snap.has('b'), true);
    assert.equal(snap.get('zz'), undefined);
    assert.deepEqual(snap.meta(), { creationDateTime: store.created.toISOString(), lastUpdatedDateTime: store.lastModified.toISOString(), keyCount: 2 });
    assert.throws(
      () => KvsReplica.load(db.kvs, '00000000-0000-4000-8000-000000000000'),
      (err) => isOpenFrontError(err) && err.code === 'KVS_NOT_FOUND',
    );
    db.database.close();
  });

  it('applies changes in order; snapshots taken earlier never change', () => {
    const { db, store } = setup();
    const replica = KvsReplica.load(db.kvs, store.id);
    const before = replica.snapshot();
    assert.equal(replica.snapshot(), before, 'taking a snapshot twice without a change is free');
    const change: ChangeRecord = {
      storeId: store.id,
      version: 2,
      puts: [
        { key: 'a', value: 'one' },
        { key: 'c', value: '3' },
      ],
      deletes: ['b'],
      replace: false,
      at: new Date(Date.UTC(2025, 0, 1)),
    };
    replica.apply(change);
    const after = replica.snapshot();
    assert.notEqual(after, before);
    assert.deepEqual([before.version, before.get('a'), before.get('b'), before.has('c'), before.meta().keyCount], [1, '1', '2', false, 2]);
    assert.deepEqual([after.version, after.get('a'), after.has('b'), after.get('c'), after.meta().keyCount], [2, 'one', false, '3', 2]);
    assert.equal(after.meta().lastUpdatedDateTime, '2025-01-01T00:00:00.000Z');
    // Re-delivery of an applied version is ignored.
    replica.apply({ ...change, puts: [{ key: 'a', value: 'WRONG' }] });
    assert.equal(replica.snapshot().get('a'), 'one');
    // Without a snapshot in between, changes mutate in place; earlier snapshots still hold.
    replica.apply({ storeId: store.id, version: 3, puts: [{ key: 'd', value: '4' }], deletes: [], replace: false, at: new Date() });
    replica.apply({ storeId: store.id, version: 4, puts: [{ key: 'e', value: '5' }], deletes: [], replace: false, at: new Date() });
    assert.equal(after.has('d'), false);
    assert.deepEqual([replica.version, replica.snapshot().get('e')], [4, '5']);
    // A replace change clears the store first.
    replica.apply({ storeId: store.id, version: 5, puts: [{ key: 'only', value: 'x' }], deletes: [], replace: true, at: new Date() });
    assert.equal(replica.snapshot().meta().keyCount, 1);
    assert.throws(() => replica.apply({ ...change, storeId: 'other' }), /other/);
    db.database.close();
  });

  it('reloads from the database when a change arrives after a gap', () => {
    const { db, store } = setup();
    const replica = KvsReplica.load(db.kvs, store.id);
    const w2 = db.kvs.putKey(store.id, 'x', 'two', store.etag, actor);
    const w3 = db.kvs.putKey(store.id, 'y', 'three', w2.etag, actor);
    const [, c3] = db.kvs.changesSince(store.id, 1);
    replica.apply(c3); // version 2 was never delivered
    assert.equal(replica.version, 3);
    assert.deepEqual([replica.snapshot().get('x'), replica.snapshot().get('y')], ['two', 'three']);
    assert.equal(w3.version, 3);
    db.database.close();
  });
});

describe('ReplicaSet', () => {
  it('keeps replicas current from committed writes and forgets deleted stores', () => {
    const { db, store } = setup();
    const replicas = new ReplicaSet(db.kvs);
    const replica = replicas.get(store.id);
    assert.equal(replicas.get(store.id), replica);
    const old = replica.snapshot();
    const w = db.kvs.updateKeys(store.id, { puts: [{ key: 'a', value: 'A' }], deletes: ['b'] }, store.etag, actor);
    assert.equal(replica.version, w.version);
    assert.equal(replica.snapshot().get('a'), 'A');
    assert.equal(replica.snapshot().has('b'), false);
    assert.equal(old.get('a'), '1');
    db.kvs.importData(store.id, [{ key: 'z', value: 'z' }], { mode: 'replace' }, actor);
    assert.deepEqual([replica.snapshot().get('z'), replica.snapshot().has('a')], ['z', false]);
    // Store created with data after the set exists: loaded lazily at its current version.
    const other = db.kvs.createStore({ name: 'later', importItems: [{ key: 'k', value: 'v' }] }, actor);
    assert.equal(replicas.get(other.id).snapshot().get('k'), 'v');
    db.kvs.deleteStore('later', other.metadataEtag, actor);
    assert.throws(
      () => replicas.get(other.id),
      (err) => isOpenFrontError(err) && err.code === 'KVS_NOT_FOUND',
    );
    replicas.close();
    db.kvs.putKey(store.id, 'after-close', 'v', db.kvs.getStore({ id: store.id })!.etag, actor);
    assert.equal(replica.snapshot().has('after-close'), false);
    db.database.close();
  });

  it('loads a full 5 MB store and follows 50-key updates', () => {
    const db = openSqliteState(':memory:');
    const value = 'v'.repeat(1000);
    const items = Array.from({ length: 5000 }, (_, i) => ({ key: `key-${String(i).padStart(5, '0')}`, value }));
    const store = db.kvs.createStore({ name: 'full', importItems: items }, actor);
    assert.ok(store.totalSizeInBytes <= 5 * 1024 * 1024);
    const replicas = new ReplicaSet(db.kvs);
    const replica = replicas.get(store.id);
    assert.equal(replica.snapshot().meta().keyCount, 5000);
    let etag = store.etag;
    for (let round = 0; round < 5; round++) {
      replica.snapshot();
      const puts = items.slice(round * 50, round * 50 + 50).map(({ key }) => ({ key, value: `r${round}` }));
      etag = db.kvs.updateKeys(store.id, { puts }, etag, actor).etag;
    }
    assert.equal(replica.version, 6);
    assert.equal(replica.snapshot().get('key-00249'), 'r4');
    replicas.close();
    db.database.close();
  });
});
