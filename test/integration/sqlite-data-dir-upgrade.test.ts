/**
 * A data dir written before the SQLite backend was split into its parts (one `KvsDatabase` class then; the node
 * database, stores, audit log and access keys now) opens unchanged. The fixture (`fixtures/main-data-dir/`) is that
 * data dir as SQL text plus its secret key file, made by the code of main at the split's branch point: access keys
 * (one with a policy, one revoked), two stores with writes of every kind, a value schema, ownership, a deleted
 * store, functions with versions and stages, and an applied release. `expected.json` holds what the same reads
 * (`reads.ts`) answered then.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { SCHEMA_VERSION } from '../../src/kvs/schema.js';
import { openSqliteState } from '../../src/state/sqlite/index.js';
import { expectedReads } from './fixtures/main-data-dir/reads.js';

const FIXTURE = fileURLToPath(new URL('../../../test/integration/fixtures/main-data-dir/', import.meta.url));

interface Expected {
  admin: { accessKeyId: string; secretAccessKey: string };
  flagsKey: { accessKeyId: string; secretAccessKey: string };
  revoked: string;
  [read: string]: unknown;
}

describe('a data dir made before the SQLite backend was split', () => {
  let dir: string;
  let file: string;
  const expected = JSON.parse(readFileSync(join(FIXTURE, 'expected.json'), 'utf8')) as Expected;
  const { admin, flagsKey, revoked, ...reads } = expected;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'openfront-upgrade-'));
    file = join(dir, 'openfront.db');
    writeFileSync(join(dir, 'openfront.key'), readFileSync(join(FIXTURE, 'openfront.key')), { mode: 0o600 });
    const old = new Database(file);
    old.pragma('journal_mode = WAL');
    old.exec(readFileSync(join(FIXTURE, 'openfront.sql'), 'utf8'));
    old.close();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('answers every read as the code that wrote it did', async () => {
    const state = openSqliteState(file);
    try {
      const now = await expectedReads(state, (storeId, afterVersion) => state.kvs.changesSince(storeId, afterVersion));
      for (const [name, value] of Object.entries(reads)) assert.deepEqual(now[name], value, `read ${name}`);
      assert.deepEqual(Object.keys(now).sort(), Object.keys(reads).sort());
      assert.equal(await state.accessKeys.secret(admin.accessKeyId), admin.secretAccessKey, 'secrets open with the key file beside the database');
      assert.equal(await state.accessKeys.secret(flagsKey.accessKeyId), flagsKey.secretAccessKey);
      assert.equal(await state.accessKeys.secret(revoked), undefined);
    } finally {
      await state.close();
    }
  });

  it('takes new writes on every part and keeps them across a reopen, at the newest schema', async () => {
    const actor = { accessKeyId: admin.accessKeyId };
    const state = openSqliteState(file);
    let version: number;
    let keyId: string;
    try {
      const store = (await state.stores.getStore({ name: 'redirects' }))!;
      const written = await state.stores.putKey(store.id, '/new', '/newer', store.etag, actor);
      version = written.version;
      assert.equal(version, store.version + 1);
      await assert.rejects(state.stores.putKey(store.id, '/x', '/y', store.etag, actor), { code: 'KVS_CONFLICT' });
      const dev = await state.functions.describe('router');
      const published = await state.functions.publish('router', dev.etag, actor);
      assert.equal(published.stage, 'LIVE');
      keyId = (await state.accessKeys.create('after the upgrade', actor)).accessKeyId;
      const newest = await state.audit.list({ limit: 3 });
      assert.deepEqual(
        newest.map((r) => r.operation),
        ['CreateAccessKey', 'PublishFunction', 'PutKey'],
      );
    } finally {
      await state.close();
    }
    const reopened = openSqliteState(file);
    try {
      const store = (await reopened.stores.getStore({ name: 'redirects' }))!;
      assert.equal(store.version, version);
      assert.equal((await reopened.stores.getKey(store.id, '/new')).value, '/newer');
      assert.ok((await reopened.accessKeys.list()).some((k) => k.accessKeyId === keyId));
      const counters = reopened.database.connection.prepare("SELECT name, value FROM settings WHERE name LIKE '%schema'").all() as Array<{
        name: string;
        value: string;
      }>;
      assert.deepEqual(counters.map((row) => row.name).sort(), ['function_registry_schema', 'perms_schema', 'release_schema']);
      assert.ok(counters.every((row) => Number(row.value) >= 1));
      assert.equal(reopened.database.connection.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    } finally {
      await reopened.close();
    }
  });
});
