/**
 * A write far bigger than one NATS message (a 5 MB replace import: 22,000 keys with their before and after values)
 * is audited in one message of the OF_AUDIT stream with its first changes and the totals, instead of failing the
 * write's answer after the data was committed (it answered 500 before: the record exceeded max_payload).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { DEFAULT_KVS_LIMITS } from '../../src/kvs/limits.js';
import { connectNats } from '../../src/state/jetstream/connection.js';
import { openJetStreamState } from '../../src/state/jetstream/index.js';
import { natsSkipReason, startNatsServer } from '../helpers/nats-server.js';

test('a 5 MB import on JetStream answers with its version and is audited with its totals', { skip: natsSkipReason() }, async () => {
  const server = await startNatsServer();
  const state = await openJetStreamState({
    conn: await connectNats(server.url, { name: 'audit-size' }),
    secretKey: randomBytes(32),
    limits: DEFAULT_KVS_LIMITS,
  });
  try {
    const actor = { accessKeyId: 'AKIDAUDITSIZE0000001' };
    const store = await state.stores.createStore({ name: 'big' }, actor);
    const rows = Array.from({ length: 22_000 }, (_, i) => ({ key: `item/${String(i).padStart(6, '0')}`, value: `value-${i}-`.padEnd(200, 'x') }));
    const written = await state.stores.importData(store.id, rows, { mode: 'replace' }, actor);
    assert.ok(written.version > 0);
    assert.equal((await state.stores.getStore({ name: 'big' }))?.itemCount, rows.length);

    const [record] = await state.audit.list({ storeName: 'big', limit: 1 });
    assert.ok(record, 'the import is audited');
    assert.equal(record.accessKeyId, actor.accessKeyId);
    assert.equal(record.detail?.changesTotal, rows.length);
    assert.equal(record.detail?.keysTotal, rows.length);
    assert.ok(record.changes.length > 0 && record.changes.length < rows.length, `${record.changes.length} changes kept`);
    assert.deepEqual(record.changes[0], { key: 'item/000000', before: null, after: rows[0]?.value });
  } finally {
    await state.close();
    await server.dispose();
  }
});
