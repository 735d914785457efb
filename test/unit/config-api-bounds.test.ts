import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { startApiServer } from '../../src/control/api-server.js';
import { openSqliteState } from '../../src/state/sqlite/index.js';
import { openFrontRejectionOf } from '../helpers/errors.js';

const minimal = {
  distributions: [{ id: 'main', hostnames: ['localhost'], origins: [{ id: 'app', url: 'http://127.0.0.1:3000' }], defaultBehavior: { origin: 'app' } }],
};

describe('config: API bounds and the import directory', () => {
  it('keeps the defaults when nothing is set: no import directory, no API overrides', () => {
    const config = parseConfig(minimal, '/srv/site');
    assert.equal(config.kvsImportDir, undefined);
    assert.deepEqual(config.apiLimits, {});
  });

  it('reads api bounds and resolves kvs.importDir against the config file', () => {
    const config = parseConfig({ ...minimal, api: { maxConnections: 64, headersTimeoutMs: 5000 }, kvs: { importDir: 'imports' } }, '/srv/site');
    assert.equal(config.kvsImportDir, '/srv/site/imports');
    assert.deepEqual(config.apiLimits, { maxConnections: 64, headersTimeoutMs: 5000 });
  });

  it('refuses unknown or non-positive bounds', () => {
    assert.throws(() => parseConfig({ ...minimal, api: { maxConnections: 0 } }, '/srv'), /maxConnections/);
    assert.throws(() => parseConfig({ ...minimal, api: { maxBodies: 3 } }, '/srv'), /maxBodies/);
  });

  it('refuses a headers timeout longer than the request timeout with CONFIG_INVALID', async () => {
    const db = openSqliteState(':memory:');
    try {
      const err = await openFrontRejectionOf(startApiServer({ state: db, port: 0, limits: { headersTimeoutMs: 10_000, requestTimeoutMs: 5_000 } }));
      assert.equal(err.code, 'CONFIG_INVALID');
    } finally {
      db.database.close();
    }
  });
});
