import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { ensureConfigStores, replicaStoreResolver } from '../../src/node/seed-stores.js';
import { openSqliteState } from '../../src/state/sqlite/index.js';
import { ReplicaSet } from '../../src/kvs/replica.js';

describe('ensureConfigStores', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'openfront-stores-'));
    writeFileSync(join(dir, 'seed.json'), JSON.stringify({ data: [{ key: '/old', value: '/new' }] }));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('creates and seeds missing stores once, and resolves them to live replicas', async () => {
    const config = parseConfig(
      {
        stores: [{ name: 'redirects', seed: 'seed.json' }, { name: 'empty' }],
        distributions: [{ id: 'd', hostnames: ['*'], origins: [{ id: 'o', url: 'http://127.0.0.1:1' }], defaultBehavior: { origin: 'o' } }],
      },
      dir,
    );
    const db = openSqliteState(join(dir, 'kvs.sqlite'));
    const replicas = new ReplicaSet(db.kvs);
    try {
      assert.deepEqual(await ensureConfigStores(config, db.stores), ['redirects', 'empty']);
      const resolve = replicaStoreResolver(db.kvs, replicas);
      const redirects = resolve('redirects')!;
      assert.equal(redirects.source.snapshot().get('/old'), '/new');
      db.kvs.putKey(redirects.id, '/old', '/newer', db.kvs.getStore({ id: redirects.id })!.etag, { accessKeyId: 'test' });
      assert.equal(redirects.source.snapshot().get('/old'), '/newer', 'the replica follows writes');
      assert.deepEqual(await ensureConfigStores(config, db.stores), [], 'existing stores keep their data');
      assert.equal(redirects.source.snapshot().get('/old'), '/newer');
      assert.equal(resolve('nope'), undefined);
    } finally {
      replicas.close();
      db.database.close();
    }
  });
});
