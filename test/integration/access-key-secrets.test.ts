/**
 * Issue 12, finding 8: access-key secrets, revoked ones included, must not be readable from a copy of
 * `openfront.db`. The database is read with better-sqlite3 directly (every column of every table) and as raw bytes.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { startApiServer } from '../../src/control/api-server.js';
import { openSqliteState, type SqliteState } from '../../src/state/sqlite/index.js';
import { migrate } from '../../src/kvs/schema.js';
import { rawRequest } from './fixtures/kvs-api-harness.js';

/** Every text or blob value in every column of every table, as text. */
function everyStoredValue(file: string): string[] {
  const db = new Database(file, { readonly: true });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[];
    const values: string[] = [];
    for (const table of tables) {
      for (const row of db.prepare(`SELECT * FROM "${table}"`).all() as Array<Record<string, unknown>>) {
        for (const value of Object.values(row)) {
          if (typeof value === 'string') values.push(value);
          else if (Buffer.isBuffer(value)) values.push(value.toString('latin1'));
        }
      }
    }
    return values;
  } finally {
    db.close();
  }
}

/** The database file and its WAL as bytes (freed pages keep old cell contents unless overwritten). */
function rawBytes(file: string): string {
  return [file, `${file}-wal`]
    .filter((f) => existsSync(f))
    .map((f) => readFileSync(f).toString('latin1'))
    .join('');
}

function assertNowhere(file: string, secrets: string[]): void {
  const values = everyStoredValue(file);
  const bytes = rawBytes(file);
  for (const secret of secrets) {
    assert.ok(!values.some((v) => v.includes(secret)), `a column holds the secret ${secret.slice(0, 6)}…`);
    assert.ok(!bytes.includes(secret), `the file bytes hold the secret ${secret.slice(0, 6)}…`);
  }
}

async function authenticates(db: SqliteState, key: { accessKeyId: string; secretAccessKey: string }): Promise<number> {
  const server = await startApiServer({ state: db, port: 0 });
  try {
    return (await rawRequest(server.port, { method: 'GET', path: '/openfront/v1/audit', service: 'openfront', credentials: key })).status;
  } finally {
    await server.close();
  }
}

describe('access-key secrets at rest (issue 12, finding 8)', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'openfront-secrets-'));
    file = join(dir, 'openfront.db');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('stores no secret, active or revoked, in any column of the database file; keys still authenticate after a restart', async () => {
    const db = openSqliteState(file);
    const active = db.keys.createAccessKey('active');
    const revoked = db.keys.createAccessKey('revoked');
    db.keys.revokeAccessKey(revoked.accessKeyId);
    db.database.close();

    assertNowhere(file, [active.secretAccessKey, revoked.secretAccessKey]);

    const reopened = openSqliteState(file);
    try {
      assert.equal(await authenticates(reopened, active), 200);
      assert.equal(await authenticates(reopened, revoked), 403);
    } finally {
      reopened.database.close();
    }
  });

  it('encrypts secrets a database already holds in clear when it is opened, and overwrites the clear text on disk', async () => {
    // A database as written before secrets were encrypted.
    const old = new Database(file);
    old.pragma('journal_mode = WAL');
    migrate(old);
    const plain = { accessKeyId: 'AKIAOLDKEY0000000000', secretAccessKey: randomBytes(30).toString('base64') };
    const revokedPlain = randomBytes(30).toString('base64');
    old
      .prepare('INSERT INTO access_keys (access_key_id, secret, created_ms, revoked_ms) VALUES (?, ?, ?, ?)')
      .run(plain.accessKeyId, plain.secretAccessKey, 1, null);
    old.prepare('INSERT INTO access_keys (access_key_id, secret, created_ms, revoked_ms) VALUES (?, ?, ?, ?)').run('AKIAOLDREVOKED000000', revokedPlain, 1, 2);
    old.close();

    const db = openSqliteState(file);
    try {
      assertNowhere(file, [plain.secretAccessKey, revokedPlain]);
      assert.equal(await authenticates(db, plain), 200);
    } finally {
      db.database.close();
    }
    assertNowhere(file, [plain.secretAccessKey, revokedPlain]);
  });

  it('keeps the key outside the database: a 0600 key file beside it, or OPENFRONT_SECRET_KEY; another key is refused clearly', () => {
    const db = openSqliteState(file);
    db.keys.createAccessKey();
    db.database.close();
    const keyFile = join(dir, 'openfront.key');
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    assert.ok(!everyStoredValue(file).some((v) => v.includes(readFileSync(keyFile, 'utf8').trim())), 'the key itself is not in the database');

    assert.throws(
      () => openSqliteState(file, { secretKey: randomBytes(32) }),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'CONFIG_INVALID');
        assert.match(err.message, /openfront\.key|OPENFRONT_SECRET_KEY/);
        return true;
      },
    );
  });
});
