/**
 * The SQLite schema of the KeyValueStore database and its migrations. `PRAGMA user_version` records how many
 * migrations have been applied; each migration runs once, in order, in its own transaction. Migrations are append
 * only: never edit one that has shipped, add a new one.
 */
import type { Database } from 'better-sqlite3';
import { openFrontError } from '../errors.js';

const MIGRATIONS: readonly string[] = [
  // 1: stores, items, change log, audit log, access keys, and database-wide settings.
  `
  CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) WITHOUT ROWID;

  CREATE TABLE kvs_stores (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL UNIQUE,
    comment          TEXT NOT NULL DEFAULT '',
    status           TEXT NOT NULL,
    failure_reason   TEXT,
    created_ms       INTEGER NOT NULL,
    last_modified_ms INTEGER NOT NULL,
    metadata_version INTEGER NOT NULL,
    version          INTEGER NOT NULL,
    item_count       INTEGER NOT NULL,
    total_bytes      INTEGER NOT NULL
  ) WITHOUT ROWID;

  -- BINARY collation compares UTF-8 bytes: keys list in byte (= code point) order.
  CREATE TABLE kvs_items (
    store_id TEXT NOT NULL REFERENCES kvs_stores(id) ON DELETE CASCADE,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (store_id, key)
  ) WITHOUT ROWID;

  CREATE TABLE kvs_changes (
    store_id TEXT NOT NULL REFERENCES kvs_stores(id) ON DELETE CASCADE,
    version  INTEGER NOT NULL,
    at_ms    INTEGER NOT NULL,
    replace  INTEGER NOT NULL,
    puts     TEXT NOT NULL,
    deletes  TEXT NOT NULL,
    PRIMARY KEY (store_id, version)
  ) WITHOUT ROWID;

  CREATE TABLE audit_log (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms         INTEGER NOT NULL,
    access_key_id TEXT NOT NULL,
    operation     TEXT NOT NULL,
    store_id      TEXT,
    store_name    TEXT,
    function_name TEXT,
    keys          TEXT NOT NULL,
    changes       TEXT NOT NULL,
    etag_from     TEXT,
    etag_to       TEXT,
    detail        TEXT
  );
  CREATE INDEX audit_by_store ON audit_log (store_id, id);
  CREATE INDEX audit_by_store_name ON audit_log (store_name, id);
  CREATE INDEX audit_by_access_key ON audit_log (access_key_id, id);
  CREATE INDEX audit_by_time ON audit_log (at_ms);

  CREATE TABLE access_keys (
    access_key_id TEXT PRIMARY KEY,
    secret        TEXT NOT NULL,
    created_ms    INTEGER NOT NULL,
    revoked_ms    INTEGER,
    description   TEXT
  ) WITHOUT ROWID;
  `,
  // 2: value schemas (kvs/value-schema.ts): at most one JSON Schema document per store, gone with the store.
  `
  CREATE TABLE kvs_value_schemas (
    store_id   TEXT PRIMARY KEY REFERENCES kvs_stores(id) ON DELETE CASCADE,
    etag       TEXT NOT NULL,
    document   TEXT NOT NULL,
    updated_ms INTEGER NOT NULL,
    updated_by TEXT NOT NULL
  ) WITHOUT ROWID;
  `,
  // 3: store history (docs/safe-changes.md): one row per data write, one per key it changed; own retention.
  `
  CREATE TABLE kvs_history (
    store_id      TEXT NOT NULL REFERENCES kvs_stores(id) ON DELETE CASCADE,
    version       INTEGER NOT NULL,
    prev_version  INTEGER NOT NULL,
    at_ms         INTEGER NOT NULL,
    access_key_id TEXT NOT NULL,
    operation     TEXT NOT NULL,
    PRIMARY KEY (store_id, version)
  ) WITHOUT ROWID;

  CREATE TABLE kvs_history_changes (
    store_id TEXT NOT NULL,
    version  INTEGER NOT NULL,
    idx      INTEGER NOT NULL,
    key      TEXT NOT NULL,
    before   TEXT,
    after    TEXT,
    PRIMARY KEY (store_id, version, idx),
    FOREIGN KEY (store_id, version) REFERENCES kvs_history(store_id, version) ON DELETE CASCADE
  ) WITHOUT ROWID;
  CREATE INDEX kvs_history_by_key ON kvs_history_changes (store_id, key, version);
  `,
];

/** Number of the newest schema this code knows. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings the database to {@link SCHEMA_VERSION}; refuses a database written by a newer OpenFront. */
export function migrate(connection: Database): void {
  const current = connection.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw openFrontError(
      'DATABASE_VERSION_UNSUPPORTED',
      `The database schema is version ${current}, newer than this OpenFront understands (${SCHEMA_VERSION})`,
    );
  }
  for (let version = current; version < SCHEMA_VERSION; version++) {
    connection
      .transaction(() => {
        connection.exec(MIGRATIONS[version]);
        connection.pragma(`user_version = ${version + 1}`);
      })
      .immediate();
  }
}
