/**
 * The audit log in the node's SQLite file (table `audit_log`): one record per committed write, appended by the
 * module that writes inside its own transaction, so a write and its audit record exist together or not at all. The
 * record types are observe/'s (imported as types only).
 */
import type { Statement } from 'better-sqlite3';
import { openFrontError } from '../../errors.js';
import type { AuditQuery, AuditRecord, NewAuditRecord } from '../../observe/audit.js';
import { DEFAULT_AUDIT_LIMIT } from '../audit.js';
import type { SqliteNodeDatabase } from './node-database.js';

/** Fields to add to a record's detail, or undefined for none. */
export type AuditEnricher = (record: NewAuditRecord) => Record<string, unknown> | undefined;

interface AuditRow {
  id: number;
  at_ms: number;
  access_key_id: string;
  operation: string;
  store_id: string | null;
  store_name: string | null;
  function_name: string | null;
  keys: string;
  changes: string;
  etag_from: string | null;
  etag_to: string | null;
  detail: string | null;
}

export function auditRowToRecord(row: AuditRow): AuditRecord {
  const record: AuditRecord = {
    id: row.id,
    at: new Date(row.at_ms),
    accessKeyId: row.access_key_id,
    operation: row.operation,
    keys: JSON.parse(row.keys) as string[],
    changes: JSON.parse(row.changes) as AuditRecord['changes'],
  };
  if (row.store_id !== null) record.storeId = row.store_id;
  if (row.store_name !== null) record.storeName = row.store_name;
  if (row.function_name !== null) record.functionName = row.function_name;
  if (row.etag_from !== null) record.etagFrom = row.etag_from;
  if (row.etag_to !== null) record.etagTo = row.etag_to;
  if (row.detail !== null) record.detail = JSON.parse(row.detail) as Record<string, unknown>;
  return record;
}

/** Turns a query into SQL. Records come newest first; `limit` keeps the newest ones. */
export function auditQueryToSql(query: AuditQuery): { sql: string; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  const condition = (clause: string, value: unknown): void => {
    where.push(clause);
    params.push(value);
  };
  if (query.storeId !== undefined) condition('store_id = ?', query.storeId);
  if (query.storeName !== undefined) condition('store_name = ?', query.storeName);
  if (query.accessKeyId !== undefined) condition('access_key_id = ?', query.accessKeyId);
  if (query.since !== undefined) condition('at_ms >= ?', query.since.getTime());
  if (query.until !== undefined) condition('at_ms < ?', query.until.getTime());
  if (query.key !== undefined) {
    where.push('EXISTS (SELECT 1 FROM json_each(audit_log.keys) WHERE json_each.value = ?)');
    params.push(query.key);
  }
  const limit = query.limit ?? DEFAULT_AUDIT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1) throw openFrontError('INPUT_INVALID', `Audit query limit must be a positive integer, got ${limit}`);
  params.push(limit);
  const filter = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
  return { sql: `SELECT * FROM audit_log ${filter} ORDER BY id DESC LIMIT ?`, params };
}

/** Reads and appends audit records on the node database's connection. */
export class SqliteAuditLog {
  readonly #database: SqliteNodeDatabase;
  readonly #insert: Statement;
  /** At most 2^6 query shapes exist, so prepared statements are kept by their SQL text. */
  readonly #queries = new Map<string, Statement>();
  readonly #enrichers: AuditEnricher[] = [];

  constructor(database: SqliteNodeDatabase) {
    this.#database = database;
    this.#insert = database.connection.prepare(
      `INSERT INTO audit_log (at_ms, access_key_id, operation, store_id, store_name, function_name, keys, changes, etag_from, etag_to, detail)
       VALUES (@at, @accessKeyId, @operation, @storeId, @storeName, @functionName, @keys, @changes, @etagFrom, @etagTo, @detail)`,
    );
  }

  /**
   * perms (issue 15): `enrich` may add fields to the detail of each record appended from now on (the owner and
   * labels of the store or function written), read inside the same transaction.
   */
  addEnricher(enrich: AuditEnricher): void {
    this.#enrichers.push(enrich);
  }

  /** Appends inside whatever transaction is open on the connection (the caller's write transaction). */
  append(record: NewAuditRecord): void {
    for (const enrich of this.#enrichers) {
      const extra = enrich(record);
      if (extra !== undefined) record = { ...record, detail: { ...record.detail, ...extra } };
    }
    this.#insert.run({
      at: this.#database.now().getTime(),
      accessKeyId: record.accessKeyId,
      operation: record.operation,
      storeId: record.storeId ?? null,
      storeName: record.storeName ?? null,
      functionName: record.functionName ?? null,
      keys: JSON.stringify(record.keys),
      changes: JSON.stringify(record.changes),
      etagFrom: record.etagFrom ?? null,
      etagTo: record.etagTo ?? null,
      detail: record.detail === undefined ? null : JSON.stringify(record.detail),
    });
  }

  list(query: AuditQuery = {}): AuditRecord[] {
    const { sql, params } = auditQueryToSql(query);
    let statement = this.#queries.get(sql);
    if (statement === undefined) {
      statement = this.#database.connection.prepare(sql);
      this.#queries.set(sql, statement);
    }
    return (statement.all(...params) as AuditRow[]).map(auditRowToRecord);
  }
}
