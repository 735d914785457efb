/**
 * The SQLite side of value schemas (`kvs_value_schemas`, one row per store): read inside the write transaction of
 * the stores (`stores.ts`), so a write and the schema it was checked against are one consistent view.
 */
import type { Database as Connection } from 'better-sqlite3';
import { storedValueSchema, type ParsedValueSchema, type StoredValueSchema } from '../../kvs/value-schema.js';

interface SchemaRow {
  etag: string;
  document: string;
  updated_ms: number;
  updated_by: string;
}

export class ValueSchemaTable {
  readonly #sql: ReturnType<typeof prepare>;
  /** The last document read per store: a write only reads the small etag column while it stays the same. */
  readonly #known = new Map<string, StoredValueSchema>();

  constructor(connection: Connection) {
    this.#sql = prepare(connection);
  }

  get(storeId: string): StoredValueSchema | undefined {
    const etag = this.#sql.etag.get(storeId) as string | undefined;
    if (etag === undefined) {
      this.#known.delete(storeId);
      return undefined;
    }
    const known = this.#known.get(storeId);
    if (known?.etag === etag) return known;
    const row = this.#sql.row.get(storeId) as SchemaRow;
    const stored = storedValueSchema(row.document, new Date(row.updated_ms), row.updated_by);
    this.#known.set(storeId, stored);
    return stored;
  }

  /** Writes or removes the row; the caller holds the transaction. */
  put(storeId: string, schema: ParsedValueSchema | undefined, at: Date, actor: string): void {
    this.#known.delete(storeId);
    if (schema === undefined) this.#sql.delete.run(storeId);
    else this.#sql.upsert.run(storeId, schema.etag, schema.text, at.getTime(), actor);
  }
}

function prepare(db: Connection) {
  return {
    etag: db.prepare('SELECT etag FROM kvs_value_schemas WHERE store_id = ?').pluck(),
    row: db.prepare('SELECT etag, document, updated_ms, updated_by FROM kvs_value_schemas WHERE store_id = ?'),
    upsert: db.prepare(
      `INSERT INTO kvs_value_schemas (store_id, etag, document, updated_ms, updated_by) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (store_id) DO UPDATE SET etag = excluded.etag, document = excluded.document, updated_ms = excluded.updated_ms, updated_by = excluded.updated_by`,
    ),
    delete: db.prepare('DELETE FROM kvs_value_schemas WHERE store_id = ?'),
  };
}
