/**
 * Migrations of the tables a module adds to the node's SQLite file next to the store schema (`kvs/schema.ts`): the
 * function registry, perms and releases each keep their own counter (a row in `settings`) so their schemas evolve
 * apart. Migrations are append only: never edit one that has shipped, add a new one.
 */
import type { Database } from 'better-sqlite3';
import { openFrontError } from '../../errors.js';

export interface TableMigrations {
  /** The `settings` row holding how many of `migrations` were applied. */
  setting: string;
  /** What the tables are, for the error naming a database newer than this code ("The release schema"). */
  label: string;
  migrations: readonly string[];
}

/** Brings the tables to the newest schema in one transaction (idempotent); refuses a database written by a newer OpenFront. */
export function migrateTables(connection: Database, { setting, label, migrations }: TableMigrations): void {
  connection
    .transaction(() => {
      const stored = connection.prepare('SELECT value FROM settings WHERE name = ?').pluck().get(setting) as string | undefined;
      const current = stored === undefined ? 0 : Number(stored);
      if (current > migrations.length) {
        throw openFrontError('DATABASE_VERSION_UNSUPPORTED', `${label} is version ${current}, newer than this OpenFront understands (${migrations.length})`);
      }
      if (current === migrations.length) return;
      for (let version = current; version < migrations.length; version++) connection.exec(migrations[version]!);
      connection
        .prepare('INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value')
        .run(setting, String(migrations.length));
    })
    .immediate();
}
