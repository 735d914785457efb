/** Access keys in the embedded SQLite database, secrets sealed with the database's secret key. */
import type { KvsDatabase } from '../../kvs/database.js';
import type { AccessKeyRecord, Actor } from '../../kvs/types.js';
import type { AccessKeyState } from '../types.js';

export class SqliteAccessKeyState implements AccessKeyState {
  readonly #db: KvsDatabase;

  constructor(db: KvsDatabase) {
    this.#db = db;
  }

  async create(description: string | undefined, actor?: Actor): Promise<{ accessKeyId: string; secretAccessKey: string }> {
    return this.#db.createAccessKey(description, actor);
  }

  async list(): Promise<AccessKeyRecord[]> {
    return this.#db.listAccessKeys();
  }

  async revoke(accessKeyId: string, actor?: Actor): Promise<void> {
    this.#db.revokeAccessKey(accessKeyId, actor);
  }

  async secret(accessKeyId: string): Promise<string | undefined> {
    return this.#db.getAccessKeySecret(accessKeyId);
  }
}
