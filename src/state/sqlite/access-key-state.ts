/**
 * Access keys on the embedded SQLite database as the async `AccessKeyState`: the keys themselves (`access-keys.ts`,
 * secrets sealed) and the policy that limits a key (perms, issue 15: the `perm_key_policies` table).
 */
import type { Statement } from 'better-sqlite3';
import type { AccessKeyRecord, Actor } from '../../kvs/types.js';
import type { AccessKeyState } from '../types.js';
import type { SqliteAccessKeys } from './access-keys.js';
import type { SqliteAuditLog } from './audit-log.js';
import type { SqliteNodeDatabase } from './node-database.js';
import { migratePermsTables } from './perms-tables.js';

export class SqliteAccessKeyState implements AccessKeyState {
  readonly #database: SqliteNodeDatabase;
  readonly #keys: SqliteAccessKeys;
  readonly #audit: SqliteAuditLog;
  readonly #insertPolicy: Statement;
  readonly #policies: Statement;
  readonly #policy: Statement;

  constructor(database: SqliteNodeDatabase, keys: SqliteAccessKeys, audit: SqliteAuditLog) {
    this.#database = database;
    this.#keys = keys;
    this.#audit = audit;
    migratePermsTables(database.connection);
    this.#insertPolicy = database.connection.prepare('INSERT INTO perm_key_policies (access_key_id, policy) VALUES (?, ?)');
    this.#policies = database.connection.prepare('SELECT access_key_id AS id, policy FROM perm_key_policies');
    this.#policy = database.connection.prepare('SELECT policy FROM perm_key_policies WHERE access_key_id = ?').pluck();
  }

  async create(description: string | undefined, actor?: Actor, policy?: readonly string[]): Promise<{ accessKeyId: string; secretAccessKey: string }> {
    if (policy === undefined) return this.#keys.createAccessKey(description, actor);
    // One transaction: a key must never exist, even for a moment, without the policy that limits it.
    return this.#database.transaction(() => {
      const key = this.#keys.createAccessKey(description, actor);
      this.#insertPolicy.run(key.accessKeyId, JSON.stringify(policy));
      this.#audit.append({
        accessKeyId: actor?.accessKeyId ?? 'local',
        operation: 'SetAccessKeyPolicy',
        keys: [],
        changes: [],
        detail: { accessKeyId: key.accessKeyId, policy: [...policy] },
      });
      return key;
    });
  }

  async list(): Promise<AccessKeyRecord[]> {
    const policies = new Map((this.#policies.all() as Array<{ id: string; policy: string }>).map((row) => [row.id, JSON.parse(row.policy) as string[]]));
    return this.#keys.listAccessKeys().map((record) => {
      const policy = policies.get(record.accessKeyId);
      return policy === undefined ? record : { ...record, policy };
    });
  }

  async revoke(accessKeyId: string, actor?: Actor): Promise<void> {
    this.#keys.revokeAccessKey(accessKeyId, actor);
  }

  async secret(accessKeyId: string): Promise<string | undefined> {
    return this.#keys.getAccessKeySecret(accessKeyId);
  }

  async lookupPolicy(accessKeyId: string): Promise<{ policy?: readonly string[] } | undefined> {
    // One read: a key revoked meanwhile is never answered with its policy.
    return this.#database.transaction(() => {
      if (!this.#keys.isActive(accessKeyId)) return undefined;
      const policy = this.#policy.get(accessKeyId) as string | undefined;
      return policy === undefined ? {} : { policy: JSON.parse(policy) as string[] };
    });
  }
}
