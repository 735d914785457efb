/**
 * The audit record: what every committed write leaves behind (who, what, before → after, ETag from → to). The types
 * live here, with the other records about what the node did; the store that commits a write appends its record in
 * the same transaction (`state/sqlite/audit-log.ts` for the embedded SQLite store), and the native API serves them.
 */

/** One key's value before and after a write (null = absent). */
export interface AuditChange {
  key: string;
  before: string | null;
  after: string | null;
}

export interface AuditRecord {
  id: number;
  at: Date;
  accessKeyId: string;
  operation: string;
  storeId?: string;
  storeName?: string;
  functionName?: string;
  keys: string[];
  /** For each key written: value before and after (null = absent). */
  changes: AuditChange[];
  etagFrom?: string;
  etagTo?: string;
  detail?: Record<string, unknown>;
}

export interface AuditQuery {
  storeId?: string;
  storeName?: string;
  key?: string;
  accessKeyId?: string;
  since?: Date;
  until?: Date;
  limit?: number;
}

/** A record as written by a caller: the log assigns `id` and `at`. */
export type NewAuditRecord = Omit<AuditRecord, 'id' | 'at'>;
