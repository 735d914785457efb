/** The audit log in the node's SQLite file (`audit-log.ts`), beside the writes it records, as the async `AuditState`. */
import type { AuditQuery, AuditRecord, NewAuditRecord } from '../../observe/audit.js';
import type { AuditState } from '../types.js';
import type { SqliteAuditLog } from './audit-log.js';

export class SqliteAuditState implements AuditState {
  readonly #log: SqliteAuditLog;

  constructor(log: SqliteAuditLog) {
    this.#log = log;
  }

  async append(record: NewAuditRecord): Promise<void> {
    this.#log.append(record);
  }

  async list(query?: AuditQuery): Promise<AuditRecord[]> {
    return this.#log.list(query);
  }
}
