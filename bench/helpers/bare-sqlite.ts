/**
 * Storage baseline: the same rows written with bare better-sqlite3 statements and transactions, under the same
 * durability settings as OpenFront's store (WAL, synchronous=FULL) — no change log, no audit, no validation.
 */
import Database from 'better-sqlite3';

export interface KeyValueRow {
  key: string;
  value: string;
}

export class BareSqlite {
  readonly #db: Database.Database;
  readonly #get: Database.Statement<[string], { value: string }>;
  readonly #put: Database.Statement<[string, string]>;
  readonly #clear: Database.Statement<[]>;
  readonly putMany: (rows: KeyValueRow[]) => void;
  readonly replaceAll: (rows: KeyValueRow[]) => void;

  constructor(file: string) {
    this.#db = new Database(file);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = FULL');
    this.#db.exec('CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID');
    this.#get = this.#db.prepare('SELECT value FROM kv WHERE key = ?');
    this.#put = this.#db.prepare('INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)');
    this.#clear = this.#db.prepare('DELETE FROM kv');
    this.putMany = this.#db.transaction((rows: KeyValueRow[]) => {
      for (const row of rows) this.#put.run(row.key, row.value);
    });
    this.replaceAll = this.#db.transaction((rows: KeyValueRow[]) => {
      this.#clear.run();
      for (const row of rows) this.#put.run(row.key, row.value);
    });
  }

  get(key: string): string | undefined {
    return this.#get.get(key)?.value;
  }

  close(): void {
    this.#db.close();
  }
}
