import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ErrorCode } from '../../src/errors.js';
import { openSqliteState, type SqliteState } from '../../src/state/sqlite/index.js';
import { dataEtag } from '../../src/kvs/etag.js';
import { DEFAULT_KVS_LIMITS, UNLIMITED_KVS_LIMITS } from '../../src/kvs/limits.js';
import type { ChangeRecord, KeyValue } from '../../src/kvs/types.js';
import { openFrontErrorFrom } from '../helpers/errors.js';

const alice = { accessKeyId: 'AKIAALICE' };

function throwsCode(fn: () => unknown, code: ErrorCode, message?: RegExp): Record<string, unknown> {
  const err = openFrontErrorFrom(fn);
  assert.equal(err.code, code, err.message);
  if (message) assert.match(err.message, message);
  return err.details;
}

/** A clock that advances one second per reading, so timestamps are deterministic and distinct. */
function fakeClock(start = Date.UTC(2024, 0, 1)): () => Date {
  let t = start;
  return () => new Date((t += 1000));
}

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'openfront-sqlite-stores-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function openMemory(): SqliteState {
  return openSqliteState(':memory:', { now: fakeClock() });
}

describe('SQLite stores: control plane', () => {
  it('creates a READY store with a UUID, an ARN on the persisted account id, and ETags', () => {
    const db = openMemory();
    const store = db.kvs.createStore({ name: 'my-store_1', comment: 'hello' }, alice);
    assert.match(db.kvs.accountId, /^\d{12}$/);
    assert.match(store.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(store.arn, `arn:aws:cloudfront::${db.kvs.accountId}:key-value-store/${store.id}`);
    assert.equal(store.status, 'READY');
    assert.equal(store.comment, 'hello');
    assert.equal(store.version, 0);
    assert.equal(store.itemCount, 0);
    assert.equal(store.totalSizeInBytes, 0);
    assert.match(store.etag, /^KV[0-9A-Z]{13}$/);
    assert.match(store.metadataEtag, /^ETV[0-9A-Z]{10}$/);
    assert.deepEqual(db.kvs.getStore({ name: 'my-store_1' }), store);
    assert.deepEqual(db.kvs.getStore({ id: store.id }), store);
    assert.deepEqual(db.kvs.getStore({ arn: store.arn }), store);
    assert.equal(db.kvs.getStore({ name: 'nope' }), undefined);
    const otherAccount = db.kvs.accountId === '000000000000' ? '111111111111' : '000000000000';
    assert.equal(db.kvs.getStore({ arn: `arn:aws:cloudfront::${otherAccount}:key-value-store/${store.id}` }), undefined);
    db.database.close();
  });

  it('rejects bad names, long comments, duplicates and too many stores', () => {
    const db = openSqliteState(':memory:', { limits: { ...DEFAULT_KVS_LIMITS, maxStoresPerAccount: 2 } });
    throwsCode(() => db.kvs.createStore({ name: '' }, alice), 'CF_INVALID_ARGUMENT');
    throwsCode(() => db.kvs.createStore({ name: 'has space' }, alice), 'CF_INVALID_ARGUMENT');
    throwsCode(() => db.kvs.createStore({ name: 'x'.repeat(65) }, alice), 'CF_INVALID_ARGUMENT');
    throwsCode(() => db.kvs.createStore({ name: 'ok', comment: 'c'.repeat(129) }, alice), 'CF_INVALID_ARGUMENT');
    db.kvs.createStore({ name: 'a'.repeat(64), comment: 'c'.repeat(128) }, alice);
    throwsCode(() => db.kvs.createStore({ name: 'a'.repeat(64) }, alice), 'CF_ENTITY_ALREADY_EXISTS');
    db.kvs.createStore({ name: 'second' }, alice);
    throwsCode(() => db.kvs.createStore({ name: 'third' }, alice), 'CF_ENTITY_LIMIT_EXCEEDED');
    db.database.close();
  });

  it('creates a store with imported data at version 1 in one step', () => {
    const db = openMemory();
    const changes: ChangeRecord[] = [];
    db.kvs.onChange((change) => changes.push(change));
    const store = db.kvs.createStore(
      {
        name: 's',
        importItems: [
          { key: 'b', value: '2' },
          { key: 'a', value: '1' },
        ],
      },
      alice,
    );
    assert.equal(store.version, 1);
    assert.equal(store.itemCount, 2);
    assert.equal(store.totalSizeInBytes, 4);
    assert.deepEqual(db.kvs.exportData(store.id), [
      { key: 'a', value: '1' },
      { key: 'b', value: '2' },
    ]);
    assert.equal(changes.length, 1);
    assert.equal(changes[0].version, 1);
    assert.equal(changes[0].replace, true);
    db.database.close();
  });

  it('refuses an invalid import at create time without creating the store', () => {
    const db = openMemory();
    const details = throwsCode(
      () =>
        db.kvs.createStore(
          {
            name: 's',
            importItems: [
              { key: 'a', value: '1' },
              { key: 'dup', value: '2' },
              { key: 'dup', value: '3' },
            ],
          },
          alice,
        ),
      'CF_INVALID_ARGUMENT',
      /"dup".*import item 2/,
    );
    assert.equal(details.key, 'dup');
    assert.equal(details.index, 2);
    const big = Array.from({ length: 6 }, (_, i) => ({ key: `k${i}`, value: 'v'.repeat(1000) }));
    const small = openSqliteState(':memory:', { limits: { ...DEFAULT_KVS_LIMITS, maxStoreBytes: 5000 } });
    throwsCode(() => small.kvs.createStore({ name: 's', importItems: big }, alice), 'CF_ENTITY_SIZE_LIMIT_EXCEEDED');
    assert.equal(small.kvs.listStores().items.length, 0);
    assert.equal(db.kvs.getStore({ name: 's' }), undefined);
    assert.equal(db.auditLog.list().length, 0);
    small.database.close();
    db.database.close();
  });

  it('lists stores by name with markers and a status filter', () => {
    const db = openMemory();
    for (const name of ['c', 'a', 'e', 'b', 'd']) db.kvs.createStore({ name }, alice);
    const first = db.kvs.listStores({ maxItems: 2 });
    assert.deepEqual(
      first.items.map((s) => s.name),
      ['a', 'b'],
    );
    assert.equal(first.nextMarker, 'b');
    const second = db.kvs.listStores({ maxItems: 2, marker: first.nextMarker });
    assert.deepEqual(
      second.items.map((s) => s.name),
      ['c', 'd'],
    );
    const last = db.kvs.listStores({ maxItems: 2, marker: second.nextMarker });
    assert.deepEqual(
      last.items.map((s) => s.name),
      ['e'],
    );
    assert.equal(last.nextMarker, undefined);
    assert.equal(db.kvs.listStores({ status: 'READY' }).items.length, 5);
    assert.equal(db.kvs.listStores({ status: 'PROVISIONING' }).items.length, 0);
    throwsCode(() => db.kvs.listStores({ maxItems: 0 }), 'CF_INVALID_ARGUMENT');
    db.database.close();
  });

  it('updates the comment only with the current metadata ETag', () => {
    const db = openMemory();
    const store = db.kvs.createStore({ name: 's', comment: 'one' }, alice);
    throwsCode(() => db.kvs.updateStoreComment('s', 'two', undefined, alice), 'CF_INVALID_IF_MATCH');
    throwsCode(() => db.kvs.updateStoreComment('missing', 'two', store.metadataEtag, alice), 'CF_ENTITY_NOT_FOUND');
    throwsCode(() => db.kvs.updateStoreComment('s', 'two', 'ETVSTALE000000', alice), 'CF_PRECONDITION_FAILED');
    throwsCode(() => db.kvs.updateStoreComment('s', 'x'.repeat(129), store.metadataEtag, alice), 'CF_INVALID_ARGUMENT');
    assert.equal(db.kvs.getStore({ name: 's' })?.comment, 'one');
    const updated = db.kvs.updateStoreComment('s', 'two', store.metadataEtag, alice);
    assert.equal(updated.comment, 'two');
    assert.notEqual(updated.metadataEtag, store.metadataEtag);
    assert.equal(updated.etag, store.etag, 'the data ETag does not move on a metadata change');
    assert.ok(updated.lastModified > store.lastModified);
    throwsCode(() => db.kvs.updateStoreComment('s', 'three', store.metadataEtag, alice), 'CF_PRECONDITION_FAILED');
    db.database.close();
  });

  it('deletes a store with its data, unless it is in use', () => {
    const db = openMemory();
    const store = db.kvs.createStore({ name: 's', importItems: [{ key: 'k', value: 'v' }] }, alice);
    const deleted: string[] = [];
    db.kvs.onStoreDeleted((id) => deleted.push(id));
    throwsCode(() => db.kvs.deleteStore('s', undefined, alice), 'CF_INVALID_IF_MATCH');
    throwsCode(() => db.kvs.deleteStore('s', 'ETVWRONG', alice), 'CF_PRECONDITION_FAILED');
    throwsCode(() => db.kvs.deleteStore('missing', store.metadataEtag, alice), 'CF_ENTITY_NOT_FOUND');
    let inUse = true;
    db.kvs.setStoreInUseCheck((id) => id === store.id && inUse);
    throwsCode(() => db.kvs.deleteStore('s', store.metadataEtag, alice), 'CF_IN_USE');
    assert.equal(db.kvs.getKey(store.id, 'k').value, 'v');
    inUse = false;
    db.kvs.deleteStore('s', store.metadataEtag, alice);
    assert.equal(db.kvs.getStore({ name: 's' }), undefined);
    assert.deepEqual(deleted, [store.id]);
    throwsCode(() => db.kvs.getKey(store.id, 'k'), 'KVS_NOT_FOUND');
    const count = db.database.connection.prepare('SELECT count(*) FROM kvs_items').pluck().get();
    assert.equal(count, 0);
    // The name can be reused; the new store has a new id and so new ETags.
    const again = db.kvs.createStore({ name: 's' }, alice);
    assert.notEqual(again.id, store.id);
    db.database.close();
  });
});

describe('SQLite stores: data plane', () => {
  function setup(limits = DEFAULT_KVS_LIMITS) {
    const db = openSqliteState(':memory:', { limits, now: fakeClock() });
    const store = db.kvs.createStore({ name: 'data' }, alice);
    return { db, id: store.id, etag: store.etag };
  }

  it('puts, gets, overwrites and deletes keys, advancing version and ETag', () => {
    const { db, id, etag } = setup();
    const put = db.kvs.putKey(id, 'key1', 'value1', etag, alice);
    assert.deepEqual(put, { etag: dataEtag(id, 1), version: 1, itemCount: 1, totalSizeInBytes: 10 });
    assert.deepEqual(db.kvs.getKey(id, 'key1'), { key: 'key1', value: 'value1', itemCount: 1, totalSizeInBytes: 10 });
    const over = db.kvs.putKey(id, 'key1', 'v', put.etag, alice);
    assert.deepEqual([over.version, over.itemCount, over.totalSizeInBytes], [2, 1, 5]);
    const emoji = db.kvs.putKey(id, 'é', '😀', over.etag, alice);
    assert.equal(emoji.totalSizeInBytes, 5 + 2 + 4, 'sizes count UTF-8 bytes');
    const del = db.kvs.deleteKey(id, 'key1', emoji.etag, alice);
    assert.deepEqual([del.version, del.itemCount, del.totalSizeInBytes], [4, 1, 6]);
    throwsCode(() => db.kvs.getKey(id, 'key1'), 'KVS_NOT_FOUND', /"key1"/);
    assert.equal(db.kvs.getStore({ id })?.etag, del.etag);
    db.database.close();
  });

  it('deleting a missing key succeeds and advances the ETag', () => {
    const { db, id, etag } = setup();
    const result = db.kvs.deleteKey(id, 'ghost', etag, alice);
    assert.equal(result.version, 1);
    assert.notEqual(result.etag, etag);
    assert.equal(result.itemCount, 0);
    db.database.close();
  });

  it('requires the current ETag and leaves data unchanged on a conflict', () => {
    const { db, id, etag } = setup();
    const first = db.kvs.putKey(id, 'k', 'one', etag, alice);
    throwsCode(() => db.kvs.putKey(id, 'k', 'two', etag, alice), 'KVS_CONFLICT');
    throwsCode(() => db.kvs.putKey(id, 'k', 'two', undefined, alice), 'KVS_CONFLICT');
    throwsCode(() => db.kvs.deleteKey(id, 'k', etag, alice), 'KVS_CONFLICT');
    throwsCode(() => db.kvs.updateKeys(id, { puts: [{ key: 'k', value: 'two' }] }, 'KV0000000000000', alice), 'KVS_CONFLICT');
    throwsCode(() => db.kvs.importData(id, [{ key: 'k', value: 'two' }], { mode: 'merge', ifMatch: etag }, alice), 'KVS_CONFLICT');
    assert.equal(db.kvs.getKey(id, 'k').value, 'one');
    assert.equal(db.kvs.getStore({ id })?.version, first.version);
    assert.equal(db.auditLog.list({ storeId: id, limit: 10 }).filter((r) => r.operation !== 'CreateKeyValueStore').length, 1);
    db.database.close();
  });

  it('reports unknown stores as KVS_NOT_FOUND', () => {
    const { db } = setup();
    const ghost = '00000000-0000-4000-8000-000000000000';
    throwsCode(() => db.kvs.getKey(ghost, 'k'), 'KVS_NOT_FOUND');
    throwsCode(() => db.kvs.listKeys(ghost), 'KVS_NOT_FOUND');
    throwsCode(() => db.kvs.putKey(ghost, 'k', 'v', 'KV0000000000000', alice), 'KVS_NOT_FOUND');
    throwsCode(() => db.kvs.deleteKey(ghost, 'k', 'KV0000000000000', alice), 'KVS_NOT_FOUND');
    throwsCode(() => db.kvs.updateKeys(ghost, { deletes: ['k'] }, 'KV0000000000000', alice), 'KVS_NOT_FOUND');
    throwsCode(() => db.kvs.importData(ghost, [], { mode: 'merge' }, alice), 'KVS_NOT_FOUND');
    throwsCode(() => db.kvs.exportData(ghost), 'KVS_NOT_FOUND');
    throwsCode(() => db.kvs.changesSince(ghost, 0), 'KVS_NOT_FOUND');
    db.database.close();
  });

  it('enforces key and value limits with KVS_VALIDATION naming the key', () => {
    const { db, id, etag } = setup();
    throwsCode(() => db.kvs.putKey(id, '', 'v', etag, alice), 'KVS_VALIDATION');
    db.kvs.putKey(id, 'k'.repeat(512), 'v', etag, alice);
    let current = db.kvs.getStore({ id })!.etag;
    const longKey = 'k'.repeat(513);
    assert.equal(throwsCode(() => db.kvs.putKey(id, longKey, 'v', current, alice), 'KVS_VALIDATION', /513 bytes/).key, longKey);
    throwsCode(() => db.kvs.putKey(id, 'é'.repeat(257), 'v', current, alice), 'KVS_VALIDATION', /514 bytes/);
    throwsCode(() => db.kvs.putKey(id, 'bad\uD800', 'v', current, alice), 'KVS_VALIDATION', /lone surrogate/);
    throwsCode(() => db.kvs.putKey(id, 'ok', 'bad\uDC00', current, alice), 'KVS_VALIDATION', /"ok"/);
    assert.equal(throwsCode(() => db.kvs.putKey(id, 'big', 'v'.repeat(1025), current, alice), 'KVS_VALIDATION', /"big".*1025 bytes/).key, 'big');
    db.kvs.putKey(id, 'max', 'v'.repeat(1024), current, alice);
    current = db.kvs.getStore({ id })!.etag;
    throwsCode(() => db.kvs.getKey(id, ''), 'KVS_VALIDATION');
    db.kvs.putKey(id, '😀 pair', 'surrogate pairs are fine', current, alice);
    db.database.close();
  });

  it('refuses writes that would take the store over its size quota', () => {
    const { db, id, etag } = setup({ ...DEFAULT_KVS_LIMITS, maxStoreBytes: 2000 });
    const first = db.kvs.putKey(id, 'a', 'x'.repeat(1000), etag, alice);
    const details = throwsCode(() => db.kvs.putKey(id, 'b', 'x'.repeat(1000), first.etag, alice), 'KVS_QUOTA_EXCEEDED');
    assert.equal(details.totalSizeInBytes, 2002);
    // Overwriting an item replaces its size instead of adding to it.
    const over = db.kvs.putKey(id, 'a', 'y'.repeat(1000), first.etag, alice);
    assert.equal(over.totalSizeInBytes, 1001);
    assert.throws(
      () =>
        db.kvs.updateKeys(
          id,
          {
            puts: [
              { key: 'b', value: 'x'.repeat(999) },
              { key: 'c', value: 'x' },
            ],
          },
          over.etag,
          alice,
        ),
      /2000|limit/,
    );
    assert.deepEqual(
      db.kvs.exportData(id).map((i) => i.key),
      ['a'],
    );
    db.database.close();
  });

  it('applies UpdateKeys all-or-nothing and enforces its request limits', () => {
    const { db, id, etag } = setup();
    const seeded = db.kvs.updateKeys(
      id,
      {
        puts: [
          { key: 'key1', value: 'value1' },
          { key: 'key2', value: 'value2' },
        ],
      },
      etag,
      alice,
    );
    const fifty = Array.from({ length: 50 }, (_, i) => ({ key: `n${i}`, value: 'v' }));
    const many = db.kvs.updateKeys(id, { puts: fifty }, seeded.etag, alice);
    assert.equal(many.itemCount, 52);
    throwsCode(() => db.kvs.updateKeys(id, { puts: fifty, deletes: ['key1'] }, many.etag, alice), 'KVS_VALIDATION', /51 keys/);
    throwsCode(() => db.kvs.updateKeys(id, {}, many.etag, alice), 'KVS_VALIDATION');
    const dupPut = throwsCode(
      () =>
        db.kvs.updateKeys(
          id,
          {
            puts: [
              { key: 'a', value: '1' },
              { key: 'a', value: '2' },
            ],
          },
          many.etag,
          alice,
        ),
      'KVS_VALIDATION',
      /"a"/,
    );
    assert.equal(dupPut.key, 'a');
    throwsCode(() => db.kvs.updateKeys(id, { deletes: ['a', 'a'] }, many.etag, alice), 'KVS_VALIDATION', /"a"/);
    throwsCode(() => db.kvs.updateKeys(id, { puts: [{ key: 'key1', value: 'x' }], deletes: ['key1'] }, many.etag, alice), 'KVS_VALIDATION', /"key1".*both/);
    // A bad item anywhere means nothing is applied.
    throwsCode(
      () =>
        db.kvs.updateKeys(
          id,
          {
            puts: [
              { key: 'key1', value: 'changed' },
              { key: 'bad', value: 'v'.repeat(2000) },
            ],
            deletes: ['key2'],
          },
          many.etag,
          alice,
        ),
      'KVS_VALIDATION',
      /"bad"/,
    );
    assert.equal(db.kvs.getKey(id, 'key1').value, 'value1');
    assert.equal(db.kvs.getKey(id, 'key2').value, 'value2');
    assert.equal(db.kvs.getStore({ id })?.version, many.version);
    const mixed = db.kvs.updateKeys(id, { puts: [{ key: 'key3', value: 'value3' }], deletes: ['key2'] }, many.etag, alice);
    assert.equal(mixed.itemCount, 52);
    throwsCode(() => db.kvs.getKey(id, 'key2'), 'KVS_NOT_FOUND');
    // The payload limit counts key and value bytes.
    const tight = setup({ ...UNLIMITED_KVS_LIMITS, maxUpdatePayloadBytes: 100 });
    throwsCode(() => tight.db.kvs.updateKeys(tight.id, { puts: [{ key: 'k', value: 'v'.repeat(100) }] }, tight.etag, alice), 'KVS_VALIDATION', /101 bytes/);
    tight.db.database.close();
    db.database.close();
  });

  it('lists keys in byte order with opaque tokens and validates MaxResults', () => {
    const { db, id, etag } = setup();
    const keys = Array.from({ length: 23 }, (_, i) => `key${String(i).padStart(2, '0')}`);
    db.kvs.updateKeys(id, { puts: keys.map((key) => ({ key, value: key.toUpperCase() })) }, etag, alice);
    const page1 = db.kvs.listKeys(id);
    assert.equal(page1.items.length, 10, 'default page size is 10');
    assert.deepEqual(page1.items[0], { key: 'key00', value: 'KEY00' });
    const seen = [...page1.items];
    let token = page1.nextToken;
    while (token !== undefined) {
      const page = db.kvs.listKeys(id, { nextToken: token, maxResults: 7 });
      seen.push(...page.items);
      token = page.nextToken;
    }
    assert.deepEqual(
      seen.map((i) => i.key),
      keys,
    );
    assert.equal(db.kvs.listKeys(id, { maxResults: 50 }).nextToken, undefined);
    throwsCode(() => db.kvs.listKeys(id, { maxResults: 0 }), 'KVS_VALIDATION');
    throwsCode(() => db.kvs.listKeys(id, { maxResults: 51 }), 'KVS_VALIDATION');
    throwsCode(() => db.kvs.listKeys(id, { maxResults: 1.5 }), 'KVS_VALIDATION');
    throwsCode(() => db.kvs.listKeys(id, { nextToken: '!!not a token!!' }), 'KVS_VALIDATION');
    db.database.close();
  });

  it('imports in bulk (merge and replace) beyond 50 keys, all-or-nothing, and exports sorted', () => {
    const { db, id } = setup();
    const items: KeyValue[] = Array.from({ length: 300 }, (_, i) => ({ key: `k${String(i).padStart(3, '0')}`, value: `v${i}` }));
    const merged = db.kvs.importData(id, items.slice().reverse(), { mode: 'merge' }, alice);
    assert.equal(merged.itemCount, 300);
    assert.equal(merged.version, 1);
    assert.deepEqual(db.kvs.exportData(id), items);
    const details = throwsCode(
      () =>
        db.kvs.importData(
          id,
          [
            { key: 'x', value: '1' },
            { key: 'k001', value: '2' },
            { key: 'x', value: '3' },
          ],
          { mode: 'replace' },
          alice,
        ),
      'KVS_VALIDATION',
      /"x"/,
    );
    assert.deepEqual([details.key, details.index], ['x', 2]);
    assert.equal(db.kvs.exportData(id).length, 300);
    const replaced = db.kvs.importData(
      id,
      [
        { key: 'k001', value: 'v1' },
        { key: 'new', value: 'n' },
      ],
      { mode: 'replace', ifMatch: merged.etag },
      alice,
    );
    assert.deepEqual([replaced.version, replaced.itemCount], [2, 2]);
    assert.deepEqual(db.kvs.exportData(id), [
      { key: 'k001', value: 'v1' },
      { key: 'new', value: 'n' },
    ]);
    const audit = db.auditLog.list({ storeId: id, limit: 1 })[0];
    assert.equal(audit.operation, 'ImportKeys');
    assert.equal(audit.changes.length, 300, '299 removed keys + 1 new key; the unchanged k001 is not listed');
    assert.deepEqual(
      audit.changes.find((c) => c.key === 'new'),
      { key: 'new', before: null, after: 'n' },
    );
    assert.deepEqual(
      audit.changes.find((c) => c.key === 'k002'),
      { key: 'k002', before: 'v2', after: null },
    );
    db.database.close();
  });
});

describe('SQLite stores: change log', () => {
  it('numbers every committed write 1, 2, 3… per store with no gaps, and notifies in order', () => {
    const db = openMemory();
    const a = db.kvs.createStore({ name: 'a' }, alice);
    const b = db.kvs.createStore({ name: 'b' }, alice);
    const seen: Array<[string, number]> = [];
    const unsubscribe = db.kvs.onChange((change) => seen.push([change.storeId, change.version]));
    let etagA = a.etag;
    let etagB = b.etag;
    for (let i = 0; i < 5; i++) {
      etagA = db.kvs.putKey(a.id, `k${i}`, 'v', etagA, alice).etag;
      assert.throws(() => db.kvs.putKey(a.id, 'stale', 'v', a.etag, alice)); // failures take no version
      if (i % 2 === 0) etagB = db.kvs.deleteKey(b.id, 'x', etagB, alice).etag;
    }
    assert.deepEqual(
      seen.filter(([s]) => s === a.id).map(([, v]) => v),
      [1, 2, 3, 4, 5],
    );
    assert.deepEqual(
      seen.filter(([s]) => s === b.id).map(([, v]) => v),
      [1, 2, 3],
    );
    assert.deepEqual(
      db.kvs.changesSince(a.id, 2).map((c) => c.version),
      [3, 4, 5],
    );
    const change = db.kvs.changesSince(a.id, 0)[0];
    assert.deepEqual(change.puts, [{ key: 'k0', value: 'v' }]);
    assert.deepEqual(change.deletes, []);
    assert.equal(change.replace, false);
    assert.ok(change.at instanceof Date);
    unsubscribe();
    db.kvs.putKey(a.id, 'after', 'v', etagA, alice);
    assert.equal(seen.length, 8);
    db.database.close();
  });

  it('delivers nested writes from a listener after the current one, so every listener sees order', () => {
    const db = openMemory();
    const store = db.kvs.createStore({ name: 's' }, alice);
    const first: number[] = [];
    const second: number[] = [];
    db.kvs.onChange((change) => {
      first.push(change.version);
      if (change.version === 1) db.kvs.putKey(store.id, 'echo', 'v', dataEtag(store.id, 1), alice);
    });
    db.kvs.onChange((change) => second.push(change.version));
    const result = db.kvs.putKey(store.id, 'k', 'v', store.etag, alice);
    assert.deepEqual([result.version, result.itemCount, result.etag], [1, 1, dataEtag(store.id, 1)], 'the result describes this write');
    assert.deepEqual(first, [1, 2]);
    assert.deepEqual(second, [1, 2]);
    db.database.close();
  });

  it('keeps a write committed and other listeners notified when one listener throws', async () => {
    const db = openMemory();
    const store = db.kvs.createStore({ name: 's' }, alice);
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    const heard: number[] = [];
    db.kvs.onChange(() => {
      throw new Error('subscriber broke');
    });
    db.kvs.onChange((change) => heard.push(change.version));
    const result = db.kvs.putKey(store.id, 'k', 'v', store.etag, alice);
    await new Promise((resolve) => setImmediate(resolve));
    process.off('warning', onWarning);
    assert.equal(result.version, 1);
    assert.deepEqual(heard, [1]);
    assert.equal(db.kvs.getKey(store.id, 'k').value, 'v');
    assert.ok(warnings.some((w) => /subscriber broke/.test(w.message)));
    db.database.close();
  });

  it('compacts the change log by hand and automatically beyond the retention', () => {
    const db = openSqliteState(':memory:', { changeLogRetention: 3 });
    const store = db.kvs.createStore({ name: 's' }, alice);
    let etag = store.etag;
    for (let i = 0; i < 6; i++) etag = db.kvs.putKey(store.id, 'k', String(i), etag, alice).etag;
    assert.deepEqual(
      db.kvs.changesSince(store.id, 0).map((c) => c.version),
      [4, 5, 6],
    );
    assert.equal(db.kvs.compactChangeLog(store.id, 1), 2);
    assert.deepEqual(
      db.kvs.changesSince(store.id, 0).map((c) => c.version),
      [6],
    );
    assert.equal(db.kvs.compactChangeLog(store.id, 1), 0);
    db.database.close();
  });
});

describe('SQLite audit log', () => {
  it('records who changed which keys, before and after values, and the ETags', () => {
    const db = openMemory();
    const store = db.kvs.createStore({ name: 'audited', comment: 'c' }, { accessKeyId: 'config' });
    const put = db.kvs.putKey(store.id, 'k', 'one', store.etag, alice);
    const bob = { accessKeyId: 'AKIABOB' };
    const update = db.kvs.updateKeys(
      store.id,
      {
        puts: [
          { key: 'k', value: 'two' },
          { key: 'n', value: 'new' },
        ],
        deletes: ['gone'],
      },
      put.etag,
      bob,
    );
    const records = db.auditLog.list();
    assert.deepEqual(
      records.map((r) => r.operation),
      ['UpdateKeys', 'PutKey', 'CreateKeyValueStore'],
    );
    const [u, p, c] = records;
    assert.equal(c.accessKeyId, 'config');
    assert.equal(c.storeName, 'audited');
    assert.equal(c.etagTo, store.metadataEtag);
    assert.deepEqual([p.accessKeyId, p.storeId, p.storeName, p.etagFrom, p.etagTo], [alice.accessKeyId, store.id, 'audited', store.etag, put.etag]);
    assert.deepEqual(p.keys, ['k']);
    assert.deepEqual(p.changes, [{ key: 'k', before: null, after: 'one' }]);
    assert.equal(u.accessKeyId, 'AKIABOB');
    assert.deepEqual(u.keys, ['k', 'n', 'gone']);
    assert.deepEqual(u.changes, [
      { key: 'k', before: 'one', after: 'two' },
      { key: 'n', before: null, after: 'new' },
      { key: 'gone', before: null, after: null },
    ]);
    assert.deepEqual([u.etagFrom, u.etagTo], [put.etag, update.etag]);
    assert.ok(u.at instanceof Date && u.id > p.id);
    db.database.close();
  });

  it('filters by store, key, access key, time and limit', () => {
    const db = openMemory(); // each clock reading is one second later
    const a = db.kvs.createStore({ name: 'a' }, alice);
    const b = db.kvs.createStore({ name: 'b' }, { accessKeyId: 'AKIABOB' });
    const w1 = db.kvs.putKey(a.id, 'x', '1', a.etag, alice);
    db.kvs.putKey(b.id, 'x', '1', b.etag, alice);
    db.kvs.putKey(a.id, 'y', '1', w1.etag, { accessKeyId: 'AKIABOB' });
    assert.equal(db.auditLog.list({ storeId: a.id }).length, 3);
    assert.equal(db.auditLog.list({ storeName: 'b' }).length, 2);
    assert.equal(db.auditLog.list({ key: 'x' }).length, 2);
    assert.deepEqual(
      db.auditLog.list({ key: 'y' }).map((r) => r.operation),
      ['PutKey'],
    );
    assert.equal(db.auditLog.list({ accessKeyId: 'AKIABOB' }).length, 2);
    assert.equal(db.auditLog.list({ storeId: a.id, key: 'x', accessKeyId: alice.accessKeyId }).length, 1);
    const all = db.auditLog.list();
    const middle = all[2].at;
    assert.equal(db.auditLog.list({ since: middle }).length, 3);
    assert.equal(db.auditLog.list({ until: middle }).length, 2);
    assert.deepEqual(
      db.auditLog.list({ limit: 2 }).map((r) => r.id),
      all.slice(0, 2).map((r) => r.id),
    );
    throwsCode(() => db.auditLog.list({ limit: 0 }), 'INPUT_INVALID');
    db.database.close();
  });

  it('lets another registry append inside its own transaction, rolled back with it', () => {
    const db = openMemory();
    db.database.connection.exec('CREATE TABLE functions (name TEXT PRIMARY KEY)');
    const insert = db.database.connection.prepare('INSERT INTO functions (name) VALUES (?)');
    const createFunction = db.database.connection.transaction((name: string, fail: boolean) => {
      insert.run(name);
      db.auditLog.append({
        accessKeyId: 'AKIAF',
        operation: 'CreateFunction',
        functionName: name,
        keys: [],
        changes: [],
        etagTo: 'ETVF',
        detail: { stage: 'DEVELOPMENT' },
      });
      if (fail) throw new Error('boom');
    });
    createFunction('ok', false);
    assert.throws(() => createFunction('rolled-back', true), /boom/);
    const records = db.auditLog.list();
    assert.equal(records.length, 1);
    assert.deepEqual([records[0].functionName, records[0].etagTo, records[0].detail], ['ok', 'ETVF', { stage: 'DEVELOPMENT' }]);
    assert.equal(records[0].storeId, undefined);
    db.database.close();
  });
});

describe('SQLite access keys', () => {
  it('creates AKIA-style keys, returns secrets only for active keys and revokes', () => {
    const db = openMemory();
    const first = db.keys.createAccessKey('ci');
    const second = db.keys.createAccessKey();
    assert.match(first.accessKeyId, /^AKIA[A-Z2-7]{16}$/);
    assert.equal(first.secretAccessKey.length, 40);
    assert.notEqual(first.accessKeyId, second.accessKeyId);
    assert.equal(db.keys.getAccessKeySecret(first.accessKeyId), first.secretAccessKey);
    assert.equal(db.keys.getAccessKeySecret('AKIAUNKNOWN'), undefined);
    const listed = db.keys.listAccessKeys();
    assert.deepEqual(listed.map((k) => k.accessKeyId).sort(), [first.accessKeyId, second.accessKeyId].sort());
    assert.equal(listed.find((k) => k.accessKeyId === first.accessKeyId)?.description, 'ci');
    assert.ok(!JSON.stringify(listed).includes(first.secretAccessKey), 'listing never includes secrets');
    db.keys.revokeAccessKey(first.accessKeyId);
    assert.equal(db.keys.getAccessKeySecret(first.accessKeyId), undefined);
    assert.ok(db.keys.listAccessKeys().find((k) => k.accessKeyId === first.accessKeyId)?.revoked instanceof Date);
    db.keys.revokeAccessKey(first.accessKeyId);
    throwsCode(() => db.keys.revokeAccessKey('AKIANOSUCHKEY'), 'NOT_FOUND');
    assert.deepEqual(
      db.auditLog.list().map((r) => r.operation),
      ['RevokeAccessKey', 'CreateAccessKey', 'CreateAccessKey'],
    );
    db.database.close();
  });
});

describe('SQLite node database on disk', () => {
  it('creates a private WAL database and keeps everything across reopen', () => {
    const file = join(dir, 'nested', 'kvs.db');
    const db = openSqliteState(file);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(db.database.connection.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(db.database.connection.pragma('synchronous', { simple: true }), 2, 'synchronous=FULL');
    const store = db.kvs.createStore({ name: 'persist', comment: 'kept', importItems: [{ key: 'a', value: '1' }] }, alice);
    const write = db.kvs.putKey(store.id, 'b', '2', store.etag, alice);
    assert.equal(statSync(`${file}-wal`).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'nested')).mode & 0o777, 0o700);
    const key = db.keys.createAccessKey('kept');
    const accountId = db.kvs.accountId;
    db.database.close();

    const reopened = openSqliteState(file);
    assert.equal(reopened.kvs.accountId, accountId);
    const again = reopened.kvs.getStore({ name: 'persist' });
    assert.deepEqual(again, { ...store, version: 2, etag: write.etag, itemCount: 2, totalSizeInBytes: 4, lastModified: again!.lastModified });
    assert.deepEqual(reopened.kvs.exportData(store.id), [
      { key: 'a', value: '1' },
      { key: 'b', value: '2' },
    ]);
    assert.deepEqual(
      reopened.kvs.changesSince(store.id, 0).map((c) => c.version),
      [1, 2],
    );
    assert.equal(reopened.keys.getAccessKeySecret(key.accessKeyId), key.secretAccessKey);
    assert.equal(reopened.auditLog.list({ storeId: store.id }).length, 2);
    const next = reopened.kvs.putKey(store.id, 'c', '3', write.etag, alice);
    assert.equal(next.version, 3);
    reopened.database.close();
  });

  it('keeps every acknowledged write when the writing process is killed', async () => {
    const file = join(dir, 'killed.db');
    const setupDb = openSqliteState(file);
    const store = setupDb.kvs.createStore({ name: 'k' }, alice);
    setupDb.database.close();
    const moduleUrl = new URL('../../src/state/sqlite/index.js', import.meta.url).href;
    const script = `
      const { openSqliteState } = await import(${JSON.stringify(moduleUrl)});
      const db = openSqliteState(${JSON.stringify(file)});
      let etag = db.kvs.getStore({ id: ${JSON.stringify(store.id)} }).etag;
      for (let i = 0; ; i++) {
        etag = db.kvs.putKey(${JSON.stringify(store.id)}, 'k' + i, 'v', etag, { accessKeyId: 'child' }).etag;
        process.stdout.write('ack ' + i + '\\n');
      }`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let acked = -1;
    let buffered = '';
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop()!;
        for (const line of lines) acked = Number(line.slice(4));
        if (acked >= 20 && child.exitCode === null && !child.killed) child.kill('SIGKILL');
      });
      child.on('exit', () => resolve());
    });
    assert.ok(acked >= 20, `the child acknowledged ${acked + 1} writes`);
    const reopened = openSqliteState(file);
    const after = reopened.kvs.getStore({ id: store.id })!;
    assert.ok(after.version >= acked + 1, `version ${after.version} covers ${acked + 1} acknowledged writes`);
    for (let i = 0; i <= acked; i++) assert.equal(reopened.kvs.getKey(store.id, `k${i}`).value, 'v');
    assert.equal(reopened.auditLog.list({ storeId: store.id, limit: 1000 }).filter((r) => r.operation === 'PutKey').length, after.version);
    reopened.database.close();
  });
});
