/**
 * One set of cases every state backend must pass (src/state/types.ts): the SQLite backend and the JetStream backend
 * run them through `describeStateConformance`, each with its own factory. Versions are only compared by order:
 * SQLite counts writes, JetStream hands out stream sequences.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isOpenFrontError, type ErrorCode } from '../../src/errors.js';
import type { Actor } from '../../src/kvs/types.js';
import type { NodeState } from '../../src/state/types.js';

export interface StateUnderTest {
  state: NodeState;
  /** A second, independent handle on the same state (another process of a fleet); the first one again for SQLite. */
  peer?: NodeState;
  cleanup(): Promise<void>;
}

const ALICE: Actor = { accessKeyId: 'AKIAALICE' };
const BOB: Actor = { accessKeyId: 'AKIABOB' };
const CODE_V1 = 'function handler(event) { return event.request; }';
const CODE_V2 = 'function handler(event) { var r = event.request; r.headers["x-v"] = { value: "2" }; return r; }';
const CODE_V3 = 'function handler(event) { var r = event.request; r.headers["x-v"] = { value: "3" }; return r; }';

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode, message?: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isOpenFrontError(err), `expected OpenFrontError ${code}, got ${String(err)}`);
    assert.equal(err.code, code, message ?? err.message);
    return true;
  });
}

/** Settled outcomes of racing calls: how many won, and the error codes of the losers. */
async function race<T>(calls: Array<() => Promise<T>>): Promise<{ winners: T[]; losers: string[] }> {
  const settled = await Promise.allSettled(calls.map((call) => call()));
  const winners = settled.filter((s): s is PromiseFulfilledResult<Awaited<T>> => s.status === 'fulfilled').map((s) => s.value);
  const losers = settled
    .filter((s): s is PromiseRejectedResult => s.status === 'rejected')
    .map((s) => (isOpenFrontError(s.reason) ? s.reason.code : String(s.reason)));
  return { winners, losers };
}

export function describeStateConformance(backend: string, factory: () => Promise<StateUnderTest>, options: { skip?: string | false } = {}): void {
  describe(`state conformance: ${backend}`, { skip: options.skip }, () => {
    let under: StateUnderTest;
    let state: NodeState;
    let peer: NodeState;
    let unique = 0;
    const name = (prefix: string) => `${prefix}-${process.pid}-${++unique}`;

    before(async () => {
      under = await factory();
      state = under.state;
      peer = under.peer ?? under.state;
    });
    after(async () => {
      await under?.cleanup();
    });

    describe('stores', () => {
      it('creates, finds by name, id and ARN, lists by name and deletes with the metadata ETag', async () => {
        const a = name('a');
        const b = name('b');
        const created = await state.stores.createStore({ name: a, comment: 'first' }, ALICE);
        await state.stores.createStore({ name: b }, ALICE);
        assert.equal(created.name, a);
        assert.equal(created.comment, 'first');
        assert.equal(created.status, 'READY');
        assert.equal(created.itemCount, 0);
        assert.match(created.arn, new RegExp(`^arn:aws:cloudfront::${state.stores.accountId}:key-value-store/${created.id}$`));
        assert.deepEqual(await state.stores.getStore({ id: created.id }), created);
        assert.deepEqual(await state.stores.getStore({ arn: created.arn }), created);
        assert.deepEqual(await peer.stores.getStore({ name: a }), created);
        assert.equal(await state.stores.getStore({ name: name('absent') }), undefined);

        const names: string[] = [];
        let marker: string | undefined;
        do {
          const page = await state.stores.listStores({ marker, maxItems: 1 });
          assert.ok(page.items.length <= 1);
          names.push(...page.items.map((s) => s.name));
          marker = page.nextMarker;
        } while (marker !== undefined);
        assert.ok(names.includes(a) && names.includes(b));
        assert.deepEqual(names, [...names].sort(), 'listed in name order');

        await rejectsWith(state.stores.createStore({ name: a }, ALICE), 'CF_ENTITY_ALREADY_EXISTS');
        await rejectsWith(state.stores.createStore({ name: 'bad name!' }, ALICE), 'CF_INVALID_ARGUMENT');

        await rejectsWith(state.stores.deleteStore(a, undefined, ALICE), 'CF_INVALID_IF_MATCH');
        await rejectsWith(state.stores.deleteStore(a, 'ETVSTALE', ALICE), 'CF_PRECONDITION_FAILED');
        await rejectsWith(state.stores.deleteStore(name('absent'), 'ETVX', ALICE), 'CF_ENTITY_NOT_FOUND');
        await state.stores.deleteStore(a, created.metadataEtag, ALICE);
        assert.equal(await state.stores.getStore({ name: a }), undefined);
        assert.equal(await peer.stores.getStore({ id: created.id }), undefined);
      });

      it('updates the comment under If-Match, moving the metadata ETag', async () => {
        const a = name('comment');
        const created = await state.stores.createStore({ name: a }, ALICE);
        const updated = await state.stores.updateStoreComment(a, 'second', created.metadataEtag, ALICE);
        assert.equal(updated.comment, 'second');
        assert.notEqual(updated.metadataEtag, created.metadataEtag);
        await rejectsWith(state.stores.updateStoreComment(a, 'third', created.metadataEtag, ALICE), 'CF_PRECONDITION_FAILED');
        assert.equal((await state.stores.getStore({ name: a }))?.comment, 'second');
      });

      it('keeps an AWS id given at creation and fills the store from import items in the same write', async () => {
        const id = '0a1b2c3d-0000-4000-8000-00000000000' + String(unique % 10);
        const a = name('aws');
        const store = await state.stores.createStore({ name: a, id, importItems: [{ key: 'k', value: 'v' }] }, ALICE);
        assert.equal(store.id, id);
        assert.equal(store.itemCount, 1);
        assert.ok(store.version > 0);
        assert.equal((await state.stores.getKey(store.id, 'k')).value, 'v');
        await rejectsWith(state.stores.createStore({ name: name('aws2'), id }, ALICE), 'CF_ENTITY_ALREADY_EXISTS');
      });
    });

    describe('keys', () => {
      it('puts, gets, lists in byte order and deletes under the data ETag', async () => {
        const store = await state.stores.createStore({ name: name('keys') }, ALICE);
        assert.equal(store.version, 0);
        const put1 = await state.stores.putKey(store.id, 'b', 'two', store.etag, ALICE);
        assert.ok(put1.version > store.version);
        assert.equal(put1.itemCount, 1);
        assert.equal(put1.totalSizeInBytes, 4);
        const put2 = await state.stores.putKey(store.id, 'a', 'one', put1.etag, ALICE);
        const put3 = await state.stores.putKey(store.id, 'é', 'three', put2.etag, ALICE);
        assert.ok(put3.version > put2.version && put2.version > put1.version);
        const described = await peer.stores.getStore({ id: store.id });
        assert.equal(described?.etag, put3.etag);
        assert.equal(described?.version, put3.version);
        assert.equal(described?.itemCount, 3);

        assert.deepEqual(await peer.stores.getKey(store.id, 'a'), { key: 'a', value: 'one', itemCount: 3, totalSizeInBytes: put3.totalSizeInBytes });
        await rejectsWith(state.stores.getKey(store.id, 'zz'), 'KVS_NOT_FOUND');

        const first = await state.stores.listKeys(store.id, { maxResults: 2 });
        assert.deepEqual(first.items, [
          { key: 'a', value: 'one' },
          { key: 'b', value: 'two' },
        ]);
        assert.ok(first.nextToken !== undefined);
        const second = await state.stores.listKeys(store.id, { maxResults: 2, nextToken: first.nextToken });
        assert.deepEqual(second, { items: [{ key: 'é', value: 'three' }] });

        await rejectsWith(state.stores.putKey(store.id, 'a', 'x', put1.etag, ALICE), 'KVS_CONFLICT', 'a stale ETag');
        await rejectsWith(state.stores.putKey(store.id, 'a', 'x', undefined, ALICE), 'KVS_CONFLICT', 'no ETag');
        assert.equal((await state.stores.getKey(store.id, 'a')).value, 'one');

        const deleted = await state.stores.deleteKey(store.id, 'a', put3.etag, ALICE);
        assert.equal(deleted.itemCount, 2);
        await rejectsWith(state.stores.getKey(store.id, 'a'), 'KVS_NOT_FOUND');
        assert.deepEqual(await state.stores.exportData(store.id), [
          { key: 'b', value: 'two' },
          { key: 'é', value: 'three' },
        ]);
      });

      it('applies UpdateKeys all or nothing', async () => {
        const store = await state.stores.createStore({ name: name('batch') }, ALICE);
        const seeded = await state.stores.updateKeys(
          store.id,
          {
            puts: [
              { key: 'k1', value: 'v1' },
              { key: 'k2', value: 'v2' },
            ],
          },
          store.etag,
          ALICE,
        );
        assert.equal(seeded.itemCount, 2);
        const tooLong = 'x'.repeat(state.stores.limits.maxKeyBytes + 1);
        await assert.rejects(
          state.stores.updateKeys(
            store.id,
            {
              puts: [
                { key: 'k3', value: 'v3' },
                { key: tooLong, value: 'v' },
              ],
              deletes: ['k1'],
            },
            seeded.etag,
            ALICE,
          ),
          (err: unknown) => isOpenFrontError(err) && err.status === 400,
        );
        const unchanged = await state.stores.getStore({ id: store.id });
        assert.equal(unchanged?.version, seeded.version);
        assert.deepEqual(await state.stores.exportData(store.id), [
          { key: 'k1', value: 'v1' },
          { key: 'k2', value: 'v2' },
        ]);
        const applied = await state.stores.updateKeys(store.id, { puts: [{ key: 'k3', value: 'v3' }], deletes: ['k1'] }, seeded.etag, ALICE);
        assert.equal(applied.itemCount, 2);
        assert.deepEqual(await peer.stores.exportData(store.id), [
          { key: 'k2', value: 'v2' },
          { key: 'k3', value: 'v3' },
        ]);
      });

      it('gives racing writers with the same If-Match exactly one winner', async () => {
        const store = await state.stores.createStore({ name: name('race') }, ALICE);
        const writers = [state, peer, state, peer, state, peer];
        const { winners, losers } = await race(writers.map((s, i) => () => s.stores.putKey(store.id, 'k', `writer ${i}`, store.etag, ALICE)));
        assert.equal(winners.length, 1, `losers: ${losers.join(', ')}`);
        assert.deepEqual(losers, Array(writers.length - 1).fill('KVS_CONFLICT'));
        const value = (await state.stores.getKey(store.id, 'k')).value;
        assert.match(value, /^writer \d$/);
        assert.equal((await state.stores.getStore({ id: store.id }))?.etag, winners[0].etag);
      });

      it('imports in replace and merge mode', async () => {
        const store = await state.stores.createStore({ name: name('import') }, ALICE);
        const first = await state.stores.importData(
          store.id,
          [
            { key: 'a', value: '1' },
            { key: 'b', value: '2' },
          ],
          { mode: 'merge' },
          ALICE,
        );
        const merged = await state.stores.importData(store.id, [{ key: 'c', value: '3' }], { mode: 'merge', ifMatch: first.etag }, ALICE);
        assert.equal(merged.itemCount, 3);
        const replaced = await state.stores.importData(
          store.id,
          [
            { key: 'b', value: 'two' },
            { key: 'd', value: '4' },
          ],
          { mode: 'replace' },
          ALICE,
        );
        assert.equal(replaced.itemCount, 2);
        assert.deepEqual(await peer.stores.exportData(store.id), [
          { key: 'b', value: 'two' },
          { key: 'd', value: '4' },
        ]);
        await rejectsWith(state.stores.importData(store.id, [{ key: 'e', value: '5' }], { mode: 'merge', ifMatch: first.etag }, ALICE), 'KVS_CONFLICT');
        await assert.rejects(
          state.stores.importData(
            store.id,
            [
              { key: 'x', value: '1' },
              { key: 'x', value: '2' },
            ],
            { mode: 'merge' },
            ALICE,
          ),
        );
        assert.equal((await state.stores.getStore({ id: store.id }))?.itemCount, 2);
      });
    });

    describe('functions', () => {
      it('creates, updates, publishes, rolls back and deletes under stage ETags', async () => {
        const fn = name('fn');
        const created = await state.functions.create({ name: fn, config: { comment: 'c1', runtime: 'cloudfront-js-2.0' }, code: CODE_V1 }, ALICE);
        assert.equal(created.stage, 'DEVELOPMENT');
        assert.equal(created.version, 1);
        assert.equal(created.status, 'UNPUBLISHED');
        assert.equal(created.arn, state.functions.functionArn(fn));
        await rejectsWith(state.functions.create({ name: fn, config: { runtime: 'cloudfront-js-2.0' }, code: CODE_V1 }, ALICE), 'CF_FUNCTION_ALREADY_EXISTS');
        assert.equal(await peer.functions.findStage(fn, 'LIVE'), undefined);
        assert.equal(await peer.functions.live(fn), undefined);
        await rejectsWith(state.functions.describe(fn, 'LIVE'), 'CF_NO_SUCH_FUNCTION');

        const updated = await state.functions.update(fn, { config: { comment: 'c2', runtime: 'cloudfront-js-2.0' }, code: CODE_V2 }, created.etag, ALICE);
        assert.equal(updated.version, 2);
        assert.notEqual(updated.etag, created.etag);
        await rejectsWith(
          state.functions.update(fn, { config: { runtime: 'cloudfront-js-2.0' }, code: CODE_V3 }, created.etag, ALICE),
          'CF_PRECONDITION_FAILED',
        );
        await rejectsWith(state.functions.update(fn, { config: { runtime: 'cloudfront-js-2.0' }, code: CODE_V3 }, undefined, ALICE), 'CF_INVALID_IF_MATCH');

        const published = await state.functions.publish(fn, updated.etag, BOB);
        assert.equal(published.stage, 'LIVE');
        assert.equal(published.version, 2);
        assert.equal((await peer.functions.live(fn))?.code, CODE_V2);
        assert.ok((await peer.functions.liveNames()).includes(fn));
        assert.equal((await peer.functions.describe(fn, 'DEVELOPMENT')).status, 'UNASSOCIATED');

        const v3 = await state.functions.update(fn, { config: { runtime: 'cloudfront-js-2.0' }, code: CODE_V3 }, updated.etag, ALICE);
        const live3 = await state.functions.publish(fn, v3.etag, ALICE);
        assert.equal(live3.version, 3);
        await rejectsWith(state.functions.rollback(fn, 1, published.etag, ALICE), 'CF_PRECONDITION_FAILED');
        await rejectsWith(state.functions.rollback(fn, 9, live3.etag, ALICE), 'FUNCTION_VERSION_NOT_FOUND');
        const rolled = await state.functions.rollback(fn, 1, live3.etag, ALICE);
        assert.equal(rolled.version, 1);
        assert.equal((await peer.functions.live(fn))?.code, CODE_V1);
        assert.equal((await peer.functions.describe(fn, 'DEVELOPMENT')).version, 3);

        const versions = await peer.functions.versions(fn);
        assert.deepEqual(
          versions.map((v) => [v.version, v.stages]),
          [
            [1, ['LIVE']],
            [2, []],
            [3, ['DEVELOPMENT']],
          ],
        );
        assert.equal(versions[0].config.comment, 'c1');
        assert.equal(versions[0].createdBy, ALICE.accessKeyId);
        assert.equal((await peer.functions.version(fn, 2)).code, CODE_V2);
        assert.equal((await peer.functions.getCode(fn, 'LIVE')).code, CODE_V1);
        await rejectsWith(peer.functions.getCodeIfMatch(fn, 'LIVE', v3.etag), 'CF_PRECONDITION_FAILED');
        assert.equal((await peer.functions.getCodeIfMatch(fn, 'LIVE', rolled.etag)).code, CODE_V1);

        const listed = await peer.functions.list({ stage: 'LIVE' });
        assert.ok(listed.items.some((v) => v.name === fn && v.version === 1));

        const dev = await state.functions.describe(fn, 'DEVELOPMENT');
        await rejectsWith(state.functions.delete(fn, created.etag, ALICE), 'CF_PRECONDITION_FAILED');
        await state.functions.delete(fn, dev.etag, ALICE);
        await rejectsWith(peer.functions.describe(fn), 'CF_NO_SUCH_FUNCTION');
        assert.equal(await peer.functions.live(fn), undefined);
      });

      it('refuses bad code and configs before writing anything', async () => {
        const fn = name('badfn');
        await rejectsWith(state.functions.create({ name: fn, config: { runtime: 'cloudfront-js-9' }, code: CODE_V1 }, ALICE), 'FUNCTION_RUNTIME_UNKNOWN');
        await assert.rejects(state.functions.create({ name: fn, config: { runtime: 'cloudfront-js-2.0' }, code: 'function handler( {' }, ALICE));
        await rejectsWith(state.functions.describe(fn), 'CF_NO_SUCH_FUNCTION');
      });

      it('associates a function with an existing store and names its id in LIVE', async () => {
        const store = await state.stores.createStore({ name: name('fnstore') }, ALICE);
        const fn = name('kvsfn');
        await rejectsWith(
          state.functions.create(
            {
              name: fn,
              config: {
                runtime: 'cloudfront-js-2.0',
                keyValueStoreArns: [`arn:aws:cloudfront::${state.stores.accountId}:key-value-store/00000000-0000-4000-8000-000000000000`],
              },
              code: CODE_V1,
            },
            ALICE,
          ),
          'CF_INVALID_ARGUMENT',
        );
        const created = await state.functions.create(
          { name: fn, config: { runtime: 'cloudfront-js-2.0', keyValueStoreArns: [store.arn] }, code: CODE_V1 },
          ALICE,
        );
        await state.functions.publish(fn, created.etag, ALICE);
        assert.equal((await peer.functions.live(fn))?.kvsStoreId, store.id);
        await rejectsWith(state.stores.deleteStore(store.name, store.metadataEtag, ALICE), 'CF_IN_USE');
      });

      it('gives racing updates with the same ETag exactly one winner', async () => {
        const fn = name('racefn');
        const created = await state.functions.create({ name: fn, config: { runtime: 'cloudfront-js-2.0' }, code: CODE_V1 }, ALICE);
        const writers = [state, peer, state, peer];
        const { winners, losers } = await race(
          writers.map((s) => () => s.functions.update(fn, { config: { runtime: 'cloudfront-js-2.0' }, code: CODE_V2 }, created.etag, ALICE)),
        );
        assert.equal(winners.length, 1, `losers: ${losers.join(', ')}`);
        assert.deepEqual(losers, Array(writers.length - 1).fill('CF_PRECONDITION_FAILED'));
        assert.equal((await state.functions.versions(fn)).length, 2);
      });
    });

    describe('access keys', () => {
      it('creates keys whose secret can be looked up, lists them and revokes them', async () => {
        const key = await state.accessKeys.create('for the suite', ALICE);
        assert.match(key.accessKeyId, /^AKIA[A-Z2-7]{16}$/);
        assert.equal(await peer.accessKeys.secret(key.accessKeyId), key.secretAccessKey);
        const listed = (await peer.accessKeys.list()).find((r) => r.accessKeyId === key.accessKeyId);
        assert.equal(listed?.description, 'for the suite');
        assert.equal(listed?.revoked, undefined);
        assert.ok(listed?.created instanceof Date);
        assert.equal(await state.accessKeys.secret('AKIAUNKNOWNUNKNOWNXX'), undefined);

        await state.accessKeys.revoke(key.accessKeyId, ALICE);
        await state.accessKeys.revoke(key.accessKeyId, ALICE);
        assert.equal(await peer.accessKeys.secret(key.accessKeyId), undefined);
        assert.ok((await peer.accessKeys.list()).find((r) => r.accessKeyId === key.accessKeyId)?.revoked instanceof Date);
        await rejectsWith(state.accessKeys.revoke('AKIAUNKNOWNUNKNOWNXX', ALICE), 'NOT_FOUND');
      });
    });

    describe('audit', () => {
      it('records each write and filters by store, key, access key and limit, newest first', async () => {
        const store = await state.stores.createStore({ name: name('audited') }, BOB);
        const put = await state.stores.putKey(store.id, 'watched', 'v1', store.etag, BOB);
        await state.stores.putKey(store.id, 'other', 'v2', put.etag, ALICE);
        await state.audit.append({ accessKeyId: BOB.accessKeyId, operation: 'CreateInvalidation', keys: [], changes: [], detail: { paths: ['/x'] } });

        const forStore = await peer.audit.list({ storeId: store.id });
        assert.deepEqual(
          forStore.map((r) => r.operation),
          ['PutKey', 'PutKey', 'CreateKeyValueStore'],
        );
        assert.ok(forStore[0].id > forStore[1].id, 'newest first');
        assert.deepEqual(forStore[1].changes, [{ key: 'watched', before: null, after: 'v1' }]);
        assert.equal(forStore[1].etagTo, put.etag);
        assert.ok(forStore[0].at instanceof Date);

        const byKey = await peer.audit.list({ storeId: store.id, key: 'watched' });
        assert.deepEqual(
          byKey.map((r) => r.keys),
          [['watched']],
        );
        const byName = await peer.audit.list({ storeName: store.name, accessKeyId: ALICE.accessKeyId });
        assert.deepEqual(
          byName.map((r) => r.keys),
          [['other']],
        );
        const newest = await peer.audit.list({ limit: 1 });
        assert.equal(newest.length, 1);
        assert.equal(newest[0].operation, 'CreateInvalidation');
        assert.deepEqual(newest[0].detail, { paths: ['/x'] });
        const since = await peer.audit.list({ storeId: store.id, since: new Date(Date.now() + 60_000) });
        assert.deepEqual(since, []);
      });
    });
  });
}
