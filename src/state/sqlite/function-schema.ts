/**
 * The function registry's tables, in the KeyValueStore database file so that a function write, a store check and
 * their audit record commit in one transaction. The registry keeps its own migration counter (a row in the shared
 * `settings` table) so its schema evolves independently of the store schema. Migrations are append only.
 */
import type { Database } from 'better-sqlite3';
import { migrateTables } from './table-migrations.js';

const MIGRATIONS: readonly string[] = [
  // 1: functions, their immutable versions, and the two stage pointers.
  `
  -- id is random per creation: ETags of a function re-created under the same name never repeat the old ones.
  CREATE TABLE fn_functions (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_ms INTEGER NOT NULL,
    last_modified_ms INTEGER NOT NULL
  ) WITHOUT ROWID;

  -- One row per Create/Update: code and the FunctionConfig it was written with, never modified afterwards.
  CREATE TABLE fn_versions (
    function_id TEXT NOT NULL REFERENCES fn_functions(id) ON DELETE CASCADE,
    version     INTEGER NOT NULL,
    code        TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    runtime     TEXT NOT NULL,
    comment     TEXT NOT NULL,
    kvs_arn     TEXT,
    created_by  TEXT NOT NULL,
    created_ms  INTEGER NOT NULL,
    PRIMARY KEY (function_id, version)
  ) WITHOUT ROWID;

  -- DEVELOPMENT and LIVE point at versions. generation counts moves of the pointer and feeds the stage's ETag, so a
  -- pointer moved away and back still gets a new ETag.
  CREATE TABLE fn_stages (
    function_id TEXT NOT NULL REFERENCES fn_functions(id) ON DELETE CASCADE,
    stage       TEXT NOT NULL CHECK (stage IN ('DEVELOPMENT', 'LIVE')),
    version     INTEGER NOT NULL,
    generation  INTEGER NOT NULL,
    updated_ms  INTEGER NOT NULL,
    PRIMARY KEY (function_id, stage),
    FOREIGN KEY (function_id, version) REFERENCES fn_versions(function_id, version)
  ) WITHOUT ROWID;
  `,
];

/** Brings the registry's tables to the newest schema; refuses a database written by a newer OpenFront. */
export function migrateFunctionTables(connection: Database): void {
  migrateTables(connection, { setting: 'function_registry_schema', label: 'The function registry schema', migrations: MIGRATIONS });
}
