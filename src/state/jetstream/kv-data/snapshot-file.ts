/**
 * An edge's local copy of what it serves, in `--state-dir` (one SQLite file, `edge-state.sqlite`): each store's
 * items at a version, and the LIVE functions. An edge restarted while NATS is unreachable serves from it at once,
 * then follows the stream from the saved version + 1 (docs/fleet-edge.md, "The snapshot in `--state-dir`").
 *
 * Writes are incremental (the keys changed since the last save) and each save is one transaction, so the file always
 * holds a whole version of each store: a process killed between saves restarts from the previous one.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { JournalPosition, StoreView, StoreViewState } from './store-view.js';

export const EDGE_STATE_FILE = 'edge-state.sqlite';

export interface SavedStore extends StoreViewState {
  /** The stream's creation time the version belongs to (a recreated stream invalidates the copy). */
  streamCreated: string;
}

/** A LIVE function as the edge serves it. */
export interface SavedFunction {
  name: string;
  version: number;
  etag: string;
  /** The registry's per-version record `{code, config}` as JSON text. */
  body: string;
}

export class EdgeStateFile {
  readonly path: string;
  readonly #db: Database.Database;

  constructor(stateDir: string) {
    mkdirSync(stateDir, { recursive: true });
    this.path = join(stateDir, EDGE_STATE_FILE);
    this.#db = new Database(this.path);
    this.#db.pragma('journal_mode = WAL');
    // A process crash loses nothing committed (WAL); a power loss may lose the last saves, which the edge then
    // fetches again from the stream.
    this.#db.pragma('synchronous = NORMAL');
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS stores (
        store_id TEXT PRIMARY KEY,
        version INTEGER NOT NULL,
        stream_created TEXT NOT NULL,
        updated INTEGER NOT NULL,
        journal_seq INTEGER,
        journal_ops INTEGER
      );
      CREATE TABLE IF NOT EXISTS items (
        store_id TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (store_id, key)
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS functions (
        name TEXT PRIMARY KEY,
        version INTEGER NOT NULL,
        etag TEXT NOT NULL,
        body TEXT NOT NULL
      );
    `);
  }

  loadStore(storeId: string): SavedStore | undefined {
    const row = this.#db.prepare('SELECT version, stream_created, updated, journal_seq, journal_ops FROM stores WHERE store_id = ?').get(storeId) as
      { version: number; stream_created: string; updated: number; journal_seq: number | null; journal_ops: number | null } | undefined;
    if (row === undefined) return undefined;
    const items = new Map<string, string>();
    for (const r of this.#db.prepare('SELECT key, value FROM items WHERE store_id = ?').iterate(storeId) as Iterable<{ key: string; value: string }>) {
      items.set(r.key, r.value);
    }
    const lastJournal: JournalPosition | undefined = row.journal_seq === null ? undefined : { seq: row.journal_seq, ops: row.journal_ops ?? 0 };
    return { items, version: row.version, updated: new Date(row.updated), lastJournal, streamCreated: row.stream_created };
  }

  /** Saves the changes of `view` since its last save (all of it when `keys` is undefined), in one transaction. */
  saveStore(view: StoreView, streamCreated: string, changes: { keys: Set<string> | undefined; version: number }): void {
    const storeId = view.storeId;
    const upsert = this.#db.prepare(
      'INSERT INTO items (store_id, key, value) VALUES (?, ?, ?) ON CONFLICT (store_id, key) DO UPDATE SET value = excluded.value',
    );
    const remove = this.#db.prepare('DELETE FROM items WHERE store_id = ? AND key = ?');
    this.#db.transaction(() => {
      if (changes.keys === undefined) {
        this.#db.prepare('DELETE FROM items WHERE store_id = ?').run(storeId);
        for (const [key, value] of view.entries()) upsert.run(storeId, key, value);
      } else {
        for (const key of changes.keys) {
          const value = view.get(key);
          if (value === undefined) remove.run(storeId, key);
          else upsert.run(storeId, key, value);
        }
      }
      const j = view.lastJournal;
      this.#db
        .prepare(
          `INSERT INTO stores (store_id, version, stream_created, updated, journal_seq, journal_ops) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (store_id) DO UPDATE SET version = excluded.version, stream_created = excluded.stream_created,
             updated = excluded.updated, journal_seq = excluded.journal_seq, journal_ops = excluded.journal_ops`,
        )
        .run(storeId, changes.version, streamCreated, view.updated.getTime(), j?.seq ?? null, j?.ops ?? null);
    })();
  }

  loadFunctions(): SavedFunction[] {
    return this.#db.prepare('SELECT name, version, etag, body FROM functions ORDER BY name').all() as SavedFunction[];
  }

  saveFunction(fn: SavedFunction): void {
    this.#db
      .prepare(
        'INSERT INTO functions (name, version, etag, body) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET version = excluded.version, etag = excluded.etag, body = excluded.body',
      )
      .run(fn.name, fn.version, fn.etag, fn.body);
  }

  deleteFunction(name: string): void {
    this.#db.prepare('DELETE FROM functions WHERE name = ?').run(name);
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }
}
