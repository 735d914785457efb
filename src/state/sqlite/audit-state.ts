/** The audit log in the embedded SQLite database (`kvs/audit-log.ts`), beside the writes it records. */
import type { KvsDatabase } from '../../kvs/database.js';
import type { AuditQuery, AuditRecord, NewAuditRecord } from '../../observe/audit.js';
import type { AuditState } from '../types.js';

export class SqliteAuditState implements AuditState {
  readonly #db: KvsDatabase;

  constructor(db: KvsDatabase) {
    this.#db = db;
  }

  async append(record: NewAuditRecord): Promise<void> {
    this.#db.appendAudit(record);
  }

  async list(query?: AuditQuery): Promise<AuditRecord[]> {
    return this.#db.listAudit(query);
  }
}
