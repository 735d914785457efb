/**
 * Store history in the SQLite database (tables `kvs_history` and `kvs_history_changes`, schema migration 2). The
 * database records an entry inside the transaction of every data write, so a committed write always has its entry;
 * compaction runs in the same transaction and drops only entries older than the retention's age that are not among
 * the store's newest `minVersions` (docs/kvs-storage.md, "History").
 */
import type { Database as Connection } from 'better-sqlite3';
import {
  assertHistoryQuery,
  decodeHistoryMarker,
  encodeHistoryMarker,
  retentionCutoff,
  type HistoryEntry,
  type HistoryPage,
  type HistoryQuery,
  type HistoryRetention,
} from '../../kvs/history.js';

interface EntryRow {
  version: number;
  prev_version: number;
  at_ms: number;
  access_key_id: string;
  operation: string;
}

interface ChangeRow {
  version: number;
  idx: number;
  key: string;
  before: string | null;
  after: string | null;
}

type PageRow = EntryRow & ChangeRow;

export class SqliteHistoryLog {
  readonly retention: HistoryRetention;
  readonly #now: () => Date;
  readonly #sql: ReturnType<typeof prepare>;

  constructor(connection: Connection, retention: HistoryRetention, now: () => Date) {
    this.retention = retention;
    this.#now = now;
    this.#sql = prepare(connection);
  }

  /** Inside the write's transaction: the entry, then the store's compaction. */
  record(storeId: string, entry: HistoryEntry): void {
    this.#sql.insertEntry.run(storeId, entry.version, entry.prevVersion, entry.at.getTime(), entry.accessKeyId, entry.operation);
    for (const [idx, change] of entry.changes.entries()) this.#sql.insertChange.run(storeId, entry.version, idx, change.key, change.before, change.after);
    this.compact(storeId);
  }

  /** Drops what the retention allows; returns how many entries went. */
  compact(storeId: string): number {
    const cutoff = retentionCutoff(this.retention, this.#now());
    if (this.retention.minVersions === 0) return this.#sql.dropOlder.run(storeId, cutoff).changes;
    return this.#sql.dropOlderBeyond.run({ store: storeId, cutoff, keep: this.retention.minVersions }).changes;
  }

  /** Entries with a version greater than `afterVersion`, newest first. */
  entriesAfter(storeId: string, afterVersion: number): HistoryEntry[] {
    const entries = (this.#sql.entriesAfter.all(storeId, afterVersion) as EntryRow[]).map((row): HistoryEntry => ({
      version: row.version,
      prevVersion: row.prev_version,
      at: new Date(row.at_ms),
      accessKeyId: row.access_key_id,
      operation: row.operation,
      changes: [],
    }));
    const byVersion = new Map(entries.map((entry) => [entry.version, entry]));
    for (const row of this.#sql.changesAfter.all(storeId, afterVersion) as ChangeRow[]) {
      byVersion.get(row.version)?.changes.push({ key: row.key, before: row.before, after: row.after });
    }
    return entries;
  }

  page(storeId: string, query: HistoryQuery): HistoryPage {
    const { limit, key, from, to, marker } = assertHistoryQuery(query);
    const after = marker === undefined ? undefined : decodeHistoryMarker(marker);
    const rows = this.#sql.page.all({
      store: storeId,
      key: key ?? null,
      from: from ?? 0,
      to: to ?? Number.MAX_SAFE_INTEGER,
      mv: after?.version ?? Number.MAX_SAFE_INTEGER,
      mi: after?.index ?? -1,
      limit: limit + 1,
    }) as PageRow[];
    const items = rows.slice(0, limit).map((row) => ({
      version: row.version,
      at: new Date(row.at_ms),
      accessKeyId: row.access_key_id,
      operation: row.operation,
      key: row.key,
      before: row.before,
      after: row.after,
    }));
    if (rows.length <= limit) return { items };
    const last = rows[limit - 1]!;
    return { items, nextMarker: encodeHistoryMarker(last.version, last.idx) };
  }
}

function prepare(db: Connection) {
  return {
    insertEntry: db.prepare('INSERT INTO kvs_history (store_id, version, prev_version, at_ms, access_key_id, operation) VALUES (?, ?, ?, ?, ?, ?)'),
    insertChange: db.prepare('INSERT INTO kvs_history_changes (store_id, version, idx, key, before, after) VALUES (?, ?, ?, ?, ?, ?)'),
    dropOlder: db.prepare('DELETE FROM kvs_history WHERE store_id = ? AND at_ms < ?'),
    // The newest `keep` entries stay whatever their age: only versions below the keep-th newest may go.
    dropOlderBeyond: db.prepare(
      `DELETE FROM kvs_history WHERE store_id = @store AND at_ms < @cutoff AND version <
         (SELECT version FROM kvs_history WHERE store_id = @store ORDER BY version DESC LIMIT 1 OFFSET @keep - 1)`,
    ),
    entriesAfter: db.prepare('SELECT * FROM kvs_history WHERE store_id = ? AND version > ? ORDER BY version DESC'),
    changesAfter: db.prepare('SELECT version, idx, key, before, after FROM kvs_history_changes WHERE store_id = ? AND version > ? ORDER BY version DESC, idx'),
    page: db.prepare(
      `SELECT h.version, h.prev_version, h.at_ms, h.access_key_id, h.operation, c.idx, c.key, c.before, c.after
         FROM kvs_history_changes c JOIN kvs_history h ON h.store_id = c.store_id AND h.version = c.version
        WHERE c.store_id = @store AND (@key IS NULL OR c.key = @key) AND c.version BETWEEN @from AND @to
          AND (c.version < @mv OR (c.version = @mv AND c.idx > @mi))
        ORDER BY c.version DESC, c.idx ASC LIMIT @limit`,
    ),
  };
}
