/**
 * Value schemas on every write path of a state backend (docs/safe-changes.md, "Value schemas"): the same cases run
 * against SQLite and JetStream (value-schema-*.test.ts), each with its own factory. `reopen` gives a fresh handle on
 * the same state (a restart), to show the schema persists.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isOpenFrontError, type ErrorCode } from '../../src/errors.js';
import type { Actor, KeyValue } from '../../src/kvs/types.js';
import { parseValueSchema, type SchemaViolation } from '../../src/kvs/value-schema.js';
import type { NodeState } from '../../src/state/types.js';

export interface SchemaStateUnderTest {
  state: NodeState;
  /** A new handle on the same state, as after a restart (the old one stays open). */
  reopen(): Promise<NodeState>;
  cleanup(): Promise<void>;
}

const ALICE: Actor = { accessKeyId: 'AKIAALICE' };

/** Redirect entries are JSON objects; flags are plain text "on"/"off"; anything else is free. */
const SCHEMA = parseValueSchema({
  patterns: [
    {
      keys: 'redirects/*',
      schema: {
        type: 'object',
        required: ['to', 'status'],
        properties: { to: { type: 'string', pattern: '^/' }, status: { enum: [301, 302, 307, 308] } },
        additionalProperties: false,
      },
    },
    { keys: 'flags/*', schema: { type: 'string', enum: ['on', 'off'] } },
  ],
});

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<Record<string, unknown> & { message: string }> {
  let caught: unknown;
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isOpenFrontError(err), `expected OpenFrontError ${code}, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    caught = err;
    return true;
  });
  const err = caught as { details: Record<string, unknown>; message: string };
  return { ...err.details, message: err.message };
}

function redirect(i: number): KeyValue {
  return { key: `redirects/page-${String(i).padStart(2, '0')}`, value: JSON.stringify({ to: `/new-${i}`, status: 301 }) };
}

export function describeValueSchemaConformance(backend: string, factory: () => Promise<SchemaStateUnderTest>, options: { skip?: string | false } = {}): void {
  describe(`value schemas: ${backend}`, { skip: options.skip }, () => {
    let under: SchemaStateUnderTest;
    let state: NodeState;
    let unique = 0;
    const name = (prefix: string) => `${prefix}-${process.pid}-${++unique}`;

    before(async () => {
      under = await factory();
      state = under.state;
    });
    after(async () => {
      await under?.cleanup();
    });

    async function storeWithSchema(prefix: string) {
      const store = await state.stores.createStore({ name: name(prefix) }, ALICE);
      const stored = await state.stores.setSchema(store.id, SCHEMA, ALICE);
      assert.equal(stored?.etag, SCHEMA.etag);
      return (await state.stores.getStore({ id: store.id }))!;
    }

    it('refuses an UpdateKeys of 50 items with one bad value and stores nothing of the batch', async () => {
      const store = await storeWithSchema('batch50');
      const puts = Array.from({ length: 50 }, (_, i) => redirect(i));
      puts[37] = { key: 'redirects/page-37', value: JSON.stringify({ to: 'no-slash', status: 301 }) };
      const details = await rejectsWith(state.stores.updateKeys(store.id, { puts }, store.etag, ALICE), 'KVS_SCHEMA_VIOLATION');
      assert.match(details.message, /redirects\/page-37/);
      assert.match(details.message, /#\/patterns\/0\/schema\/properties\/to\/pattern/);
      assert.match(details.message, /must match pattern/);
      const violations = details.violations as SchemaViolation[];
      assert.deepEqual(
        violations.map((v) => [v.key, v.instancePath]),
        [['redirects/page-37', '/to']],
      );
      const after = await state.stores.getStore({ id: store.id });
      assert.equal(after?.version, store.version, 'the version did not move');
      assert.equal(after?.itemCount, 0);
      assert.deepEqual(await state.stores.exportData(store.id), []);

      puts[37] = redirect(37);
      const written = await state.stores.updateKeys(store.id, { puts }, store.etag, ALICE);
      assert.equal(written.itemCount, 50);
    });

    it('checks PutKey: JSON values for object schemas, plain text for string schemas, free keys elsewhere', async () => {
      const store = await storeWithSchema('put');
      let etag = store.etag;
      etag = (await state.stores.putKey(store.id, 'redirects/a', '{"to":"/b","status":302}', etag, ALICE)).etag;
      etag = (await state.stores.putKey(store.id, 'flags/beta', 'on', etag, ALICE)).etag;
      etag = (await state.stores.putKey(store.id, 'other', 'anything at all', etag, ALICE)).etag;
      const notJson = await rejectsWith(state.stores.putKey(store.id, 'redirects/x', '/plain', etag, ALICE), 'KVS_SCHEMA_VIOLATION');
      assert.match(notJson.message, /is not JSON/);
      const badEnum = await rejectsWith(state.stores.putKey(store.id, 'flags/beta', 'maybe', etag, ALICE), 'KVS_SCHEMA_VIOLATION');
      assert.match(badEnum.message, /Key "flags\/beta": value must be equal to one of the allowed values/);
      assert.match(badEnum.message, /#\/patterns\/1\/schema\/enum/);
      assert.equal((await state.stores.getKey(store.id, 'flags/beta')).value, 'on');
      // Deletes are never refused by a value schema.
      await state.stores.deleteKey(store.id, 'redirects/a', etag, ALICE);
    });

    it('checks imports in merge and replace mode, all or nothing', async () => {
      const store = await storeWithSchema('import');
      const seeded = await state.stores.importData(store.id, [redirect(1), redirect(2)], { mode: 'merge' }, ALICE);
      const bad: KeyValue[] = [redirect(3), { key: 'redirects/page-04', value: '{"to":"/x","status":200}' }];
      for (const mode of ['merge', 'replace'] as const) {
        const details = await rejectsWith(state.stores.importData(store.id, bad, { mode }, ALICE), 'KVS_SCHEMA_VIOLATION');
        assert.match(details.message, /redirects\/page-04.*\/status/);
        const now = await state.stores.getStore({ id: store.id });
        assert.equal(now?.version, seeded.version, `${mode}: nothing written`);
      }
      assert.deepEqual(
        (await state.stores.exportData(store.id)).map((i) => i.key),
        ['redirects/page-01', 'redirects/page-02'],
      );
    });

    it('creates a store with a schema and import items only when every item conforms', async () => {
      const bad = name('create-bad');
      await rejectsWith(
        state.stores.createStore({ name: bad, schema: SCHEMA, importItems: [redirect(1), { key: 'flags/x', value: 'yes' }] }, ALICE),
        'KVS_SCHEMA_VIOLATION',
      );
      assert.equal(await state.stores.getStore({ name: bad }), undefined, 'no store was created');
      const good = await state.stores.createStore(
        { name: name('create-good'), schema: SCHEMA, importItems: [redirect(1), { key: 'flags/x', value: 'off' }] },
        ALICE,
      );
      assert.equal(good.itemCount, 2);
      assert.equal((await state.stores.getSchema(good.id))?.etag, SCHEMA.etag);
    });

    it('refuses a schema the stored values fail, listing them, unless forced; audits every change', async () => {
      const store = await state.stores.createStore({ name: name('set') }, ALICE);
      await state.stores.importData(
        store.id,
        [redirect(1), { key: 'redirects/bad-1', value: 'nope' }, { key: 'redirects/bad-2', value: '{"to":"/x"}' }],
        { mode: 'merge' },
        ALICE,
      );
      const details = await rejectsWith(state.stores.setSchema(store.id, SCHEMA, ALICE), 'KVS_SCHEMA_NONCONFORMING');
      assert.deepEqual(details.keys, ['redirects/bad-1', 'redirects/bad-2']);
      assert.equal(details.count, 2);
      assert.equal(await state.stores.getSchema(store.id), undefined, 'not set');

      await rejectsWith(state.stores.setSchema(store.id, SCHEMA, ALICE, { force: true, ifMatch: 'VSSTALE' }), 'CF_PRECONDITION_FAILED');
      const forced = await state.stores.setSchema(store.id, SCHEMA, ALICE, { force: true, ifMatch: 'none' });
      assert.equal(forced?.etag, SCHEMA.etag);
      assert.equal(forced?.updatedBy, ALICE.accessKeyId);
      assert.deepEqual(forced?.document, SCHEMA.document);
      // The bad values stay; new writes must conform.
      assert.equal((await state.stores.getKey(store.id, 'redirects/bad-1')).value, 'nope');

      await state.stores.setSchema(store.id, undefined, ALICE, { ifMatch: SCHEMA.etag });
      assert.equal(await state.stores.getSchema(store.id), undefined);
      const records = await state.audit.list({ storeId: store.id });
      const ops = records.map((r) => r.operation);
      assert.ok(ops.includes('PutValueSchema') && ops.includes('DeleteValueSchema'), ops.join(','));
      const put = records.find((r) => r.operation === 'PutValueSchema')!;
      assert.equal(put.accessKeyId, ALICE.accessKeyId);
      assert.equal(put.detail?.etagTo, SCHEMA.etag);
      assert.equal(put.detail?.force, true);
      assert.equal(put.detail?.nonconforming, 2);
      await rejectsWith(state.stores.getSchema('00000000-0000-4000-8000-000000000000'), 'KVS_NOT_FOUND');
    });

    it('keeps the schema across a restart', async () => {
      const store = await storeWithSchema('restart');
      const reopened = await under.reopen();
      assert.equal((await reopened.stores.getSchema(store.id))?.etag, SCHEMA.etag);
      await rejectsWith(reopened.stores.putKey(store.id, 'flags/a', 'maybe', store.etag, ALICE), 'KVS_SCHEMA_VIOLATION');
      await reopened.stores.putKey(store.id, 'flags/a', 'on', store.etag, ALICE);
    });
  });
}
