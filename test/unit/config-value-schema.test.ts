/** `stores[].schema` in the config: a file path or the document inline, read and checked when stores are seeded. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { isOpenFrontError } from '../../src/errors.js';
import { openSqliteState } from '../../src/state/sqlite/index.js';
import { ensureConfigStores } from '../../src/node/seed-stores.js';

const DISTRIBUTIONS = [{ id: 'd', hostnames: ['*'], origins: [{ id: 'o', url: 'http://127.0.0.1:1' }], defaultBehavior: { origin: 'o' } }];

describe('config stores[].schema', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'openfront-config-schema-'));
    writeFileSync(join(dir, 'flags.schema.json'), JSON.stringify({ default: { type: 'string', enum: ['on', 'off'] } }));
    writeFileSync(join(dir, 'huge.schema.json'), JSON.stringify({ default: { description: 'x'.repeat(200_000) } }));
    writeFileSync(join(dir, 'flags.json'), JSON.stringify({ data: [{ key: 'beta', value: 'on' }] }));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('takes a path (resolved against the config) or an inline document, and reports a missing file', () => {
    const config = parseConfig(
      {
        stores: [
          { name: 'flags', schema: 'flags.schema.json' },
          { name: 'inline', schema: { default: { type: 'integer' } } },
        ],
        distributions: DISTRIBUTIONS,
      },
      dir,
    );
    assert.deepEqual(config.stores[0].schema, { path: join(dir, 'flags.schema.json') });
    assert.deepEqual(config.stores[1].schema, { inline: { default: { type: 'integer' } } });
    assert.throws(
      () => parseConfig({ stores: [{ name: 'x', schema: 'missing.json' }], distributions: DISTRIBUTIONS }, dir),
      (err: unknown) => isOpenFrontError(err) && err.code === 'CONFIG_INVALID' && /stores\[0\]\.schema: file not found/.test(err.message),
    );
    assert.throws(
      () => parseConfig({ stores: [{ name: 'x', schema: 42 }], distributions: DISTRIBUTIONS }, dir),
      (err: unknown) => isOpenFrontError(err) && err.code === 'CONFIG_INVALID',
    );
  });

  it('seeds a store with its schema; an invalid or oversized document is CONFIG_INVALID naming the store', async () => {
    const db = openSqliteState(join(dir, 'kvs.sqlite'));
    const stores = db.stores;
    try {
      const config = parseConfig({ stores: [{ name: 'flags', seed: 'flags.json', schema: 'flags.schema.json' }], distributions: DISTRIBUTIONS }, dir);
      assert.deepEqual(await ensureConfigStores(config, stores), ['flags']);
      const id = (await stores.getStore({ name: 'flags' }))!.id;
      assert.equal((await stores.getSchema(id))?.updatedBy, 'config');
      const audit = db.auditLog.list({ storeId: id }).map((r) => r.operation);
      assert.deepEqual(audit, ['CreateKeyValueStore']);
      assert.deepEqual(await ensureConfigStores(config, stores), [], 'the same schema again changes nothing');
      assert.equal(db.auditLog.list({ storeId: id }).length, 1);

      for (const [schema, message] of [
        ['huge.schema.json', /store big: schema: Invalid value schema: the document is \d+ bytes; the limit is 65536/],
        [{ type: 'string' }, /store big: schema: Invalid value schema: unknown field "type"/],
      ] as const) {
        const bad = parseConfig({ stores: [{ name: 'big', schema }], distributions: DISTRIBUTIONS }, dir);
        await assert.rejects(
          ensureConfigStores(bad, stores),
          (err: unknown) => isOpenFrontError(err) && err.code === 'CONFIG_INVALID' && message.test(err.message),
        );
        assert.equal(await stores.getStore({ name: 'big' }), undefined);
      }
    } finally {
      db.database.close();
    }
  });
});
