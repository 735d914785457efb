/** Access keys in the embedded SQLite database, secrets sealed with the database's secret key. */
import type { Statement } from 'better-sqlite3';
import type { KvsDatabase } from '../../kvs/database.js';
import type { AccessKeyRecord, Actor } from '../../kvs/types.js';
import type { AccessKeyState } from '../types.js';
import { migratePermsTables } from './perms-tables.js';

export class SqliteAccessKeyState implements AccessKeyState {
  readonly #db: KvsDatabase;
  readonly #insertPolicy: Statement;
  readonly #policies: Statement;
  readonly #lookup: Statement;

  constructor(db: KvsDatabase) {
    this.#db = db;
    migratePermsTables(db.connection);
    this.#insertPolicy = db.connection.prepare('INSERT INTO perm_key_policies (access_key_id, policy) VALUES (?, ?)');
    this.#policies = db.connection.prepare('SELECT access_key_id AS id, policy FROM perm_key_policies');
    this.#lookup = db.connection.prepare(
      'SELECT k.revoked_ms AS revoked, p.policy AS policy FROM access_keys k LEFT JOIN perm_key_policies p ON p.access_key_id = k.access_key_id WHERE k.access_key_id = ?',
    );
  }

  async create(description: string | undefined, actor?: Actor, policy?: readonly string[]): Promise<{ accessKeyId: string; secretAccessKey: string }> {
    if (policy === undefined) return this.#db.createAccessKey(description, actor);
    // One transaction: a key must never exist, even for a moment, without the policy that limits it.
    return this.#db.connection.transaction(() => {
      const key = this.#db.createAccessKey(description, actor);
      this.#insertPolicy.run(key.accessKeyId, JSON.stringify(policy));
      this.#db.appendAudit({
        accessKeyId: actor?.accessKeyId ?? 'local',
        operation: 'SetAccessKeyPolicy',
        keys: [],
        changes: [],
        detail: { accessKeyId: key.accessKeyId, policy: [...policy] },
      });
      return key;
    })();
  }

  async list(): Promise<AccessKeyRecord[]> {
    const policies = new Map((this.#policies.all() as Array<{ id: string; policy: string }>).map((row) => [row.id, JSON.parse(row.policy) as string[]]));
    return this.#db.listAccessKeys().map((record) => {
      const policy = policies.get(record.accessKeyId);
      return policy === undefined ? record : { ...record, policy };
    });
  }

  async revoke(accessKeyId: string, actor?: Actor): Promise<void> {
    this.#db.revokeAccessKey(accessKeyId, actor);
  }

  async secret(accessKeyId: string): Promise<string | undefined> {
    return this.#db.getAccessKeySecret(accessKeyId);
  }

  async lookupPolicy(accessKeyId: string): Promise<{ policy?: readonly string[] } | undefined> {
    const row = this.#lookup.get(accessKeyId) as { revoked: number | null; policy: string | null } | undefined;
    if (row === undefined || row.revoked !== null) return undefined;
    return row.policy === null ? {} : { policy: JSON.parse(row.policy) as string[] };
  }
}
