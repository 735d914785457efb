/**
 * perms (issue 15) in the embedded database: access-key policies and the owner and labels of stores and functions.
 * Own tables with their own migration counter (a row in `settings`, as the function registry does), so they evolve
 * apart from the store schema. Ownership rows go with their store or function (ON DELETE CASCADE): a resource made
 * again under the same name starts afresh.
 */
import type { Database, Statement } from 'better-sqlite3';
import type { Ownership } from '../ownership.js';
import { migrateTables } from './table-migrations.js';

const MIGRATIONS: readonly string[] = [
  // 1: policies, store and function ownership.
  `
  CREATE TABLE perm_key_policies (
    access_key_id TEXT PRIMARY KEY REFERENCES access_keys(access_key_id) ON DELETE CASCADE,
    policy        TEXT NOT NULL
  ) WITHOUT ROWID;

  CREATE TABLE perm_store_ownership (
    store_id TEXT PRIMARY KEY REFERENCES kvs_stores(id) ON DELETE CASCADE,
    owner    TEXT,
    labels   TEXT
  ) WITHOUT ROWID;

  CREATE TABLE perm_function_ownership (
    function_id TEXT PRIMARY KEY REFERENCES fn_functions(id) ON DELETE CASCADE,
    owner       TEXT,
    labels      TEXT
  ) WITHOUT ROWID;
  `,
];

/** Brings the perms tables to the newest schema (idempotent); refuses a database written by a newer OpenFront. */
export function migratePermsTables(connection: Database): void {
  migrateTables(connection, { setting: 'perms_schema', label: 'The permissions schema', migrations: MIGRATIONS });
}

interface OwnershipRow {
  id: string;
  owner: string | null;
  labels: string | null;
}

export function ownershipOfRow(row: { owner: string | null; labels: string | null } | undefined): Ownership {
  if (row === undefined) return {};
  return {
    ...(row.owner === null ? {} : { owner: row.owner }),
    ...(row.labels === null ? {} : { labels: JSON.parse(row.labels) as Record<string, string> }),
  };
}

/** The statements of one kind of owned resource. */
export class OwnershipTable {
  readonly #get: Statement;
  readonly #all: Statement;
  readonly #put: Statement;

  constructor(connection: Database, kind: 'store' | 'function') {
    const [table, column] = kind === 'store' ? ['perm_store_ownership', 'store_id'] : ['perm_function_ownership', 'function_id'];
    this.#get = connection.prepare(`SELECT ${column} AS id, owner, labels FROM ${table} WHERE ${column} = ?`);
    this.#all = connection.prepare(`SELECT ${column} AS id, owner, labels FROM ${table}`);
    this.#put = connection.prepare(
      `INSERT INTO ${table} (${column}, owner, labels) VALUES (?, ?, ?) ON CONFLICT (${column}) DO UPDATE SET owner = excluded.owner, labels = excluded.labels`,
    );
  }

  get(id: string): Ownership {
    return ownershipOfRow(this.#get.get(id) as OwnershipRow | undefined);
  }

  /** Every row, by resource id (for lists). */
  all(): Map<string, Ownership> {
    return new Map((this.#all.all() as OwnershipRow[]).map((row) => [row.id, ownershipOfRow(row)]));
  }

  put(id: string, ownership: Ownership): void {
    this.#put.run(id, ownership.owner ?? null, ownership.labels === undefined ? null : JSON.stringify(ownership.labels));
  }
}
