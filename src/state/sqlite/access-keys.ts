/**
 * API access keys in the node's SQLite file (table `access_keys`). SigV4 verification needs the secret in clear, so
 * it is stored sealed with the node's secret key (AES-256-GCM, `kvs/secret-box.ts`; the key never goes into the
 * database), not hashed. Synchronous, so that other writes (a key and its policy) share one transaction;
 * `access-key-state.ts` is the async `AccessKeyState` over it.
 */
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import type { Statement } from 'better-sqlite3';
import { openFrontError } from '../../errors.js';
import { loadOrCreateSecretKey, newAccessKeyCredentials, SECRET_KEY_ENV, SECRET_KEY_FILE, SecretBox } from '../../kvs/secret-box.js';
import type { AccessKeyRecord, Actor } from '../../kvs/types.js';
import type { SqliteAuditLog } from './audit-log.js';
import type { SqliteNodeDatabase } from './node-database.js';

export interface AccessKeyOptions {
  /**
   * The 32-byte key sealing access-key secrets. Default: `OPENFRONT_SECRET_KEY`, else the key file `openfront.key`
   * beside the database (created 0600 on first open); a random key for ':memory:'.
   */
  secretKey?: Buffer;
}

interface AccessKeyRow {
  access_key_id: string;
  secret: string;
  created_ms: number;
  revoked_ms: number | null;
  description: string | null;
}

export class SqliteAccessKeys {
  readonly #database: SqliteNodeDatabase;
  readonly #audit: SqliteAuditLog;
  readonly #secrets: SecretBox;
  readonly #sql: ReturnType<typeof prepare>;

  /** Refuses (CONFIG_INVALID) a secret key other than the one the stored secrets were sealed with. */
  constructor(database: SqliteNodeDatabase, audit: SqliteAuditLog, options: AccessKeyOptions = {}) {
    this.#database = database;
    this.#audit = audit;
    const secretKey =
      options.secretKey !== undefined
        ? { key: options.secretKey, source: 'the secretKey option' }
        : database.file === ':memory:'
          ? { key: randomBytes(32), source: 'a random key' }
          : loadOrCreateSecretKey(dirname(database.file));
    this.#secrets = new SecretBox(secretKey.key);
    this.#sql = prepare(database);
    this.#sealStoredSecrets(secretKey.source);
  }

  /** Creates an AWS-style key pair, audited as `CreateAccessKey`. */
  createAccessKey(description?: string, actor: Actor = { accessKeyId: 'local' }): { accessKeyId: string; secretAccessKey: string } {
    const { accessKeyId, secretAccessKey } = newAccessKeyCredentials();
    this.#database.transaction(() => {
      this.#sql.insert.run(accessKeyId, this.#secrets.seal(secretAccessKey, accessKeyId), this.#database.now().getTime(), description ?? null);
      this.#audit.append({ accessKeyId: actor.accessKeyId, operation: 'CreateAccessKey', keys: [], changes: [], detail: { createdAccessKeyId: accessKeyId } });
    });
    return { accessKeyId, secretAccessKey };
  }

  /** The secret of an active key; undefined when the key is unknown or revoked. */
  getAccessKeySecret(accessKeyId: string): string | undefined {
    const row = this.#sql.byId.get(accessKeyId) as AccessKeyRow | undefined;
    return row && row.revoked_ms === null ? this.#secrets.open(row.secret, accessKeyId) : undefined;
  }

  /** Whether the key exists and is not revoked. */
  isActive(accessKeyId: string): boolean {
    const row = this.#sql.byId.get(accessKeyId) as AccessKeyRow | undefined;
    return row !== undefined && row.revoked_ms === null;
  }

  listAccessKeys(): AccessKeyRecord[] {
    return (this.#sql.all.all() as AccessKeyRow[]).map((row) => {
      const record: AccessKeyRecord = { accessKeyId: row.access_key_id, created: new Date(row.created_ms) };
      if (row.revoked_ms !== null) record.revoked = new Date(row.revoked_ms);
      if (row.description !== null) record.description = row.description;
      return record;
    });
  }

  /** Revokes a key (idempotent for a key already revoked); an unknown id is NOT_FOUND. */
  revokeAccessKey(accessKeyId: string, actor: Actor = { accessKeyId: 'local' }): void {
    this.#database.write(() => {
      const row = this.#sql.byId.get(accessKeyId) as AccessKeyRow | undefined;
      if (row === undefined) throw openFrontError('NOT_FOUND', `Access key ${accessKeyId} does not exist`, { accessKeyId });
      if (row.revoked_ms !== null) return;
      this.#sql.revoke.run(this.#database.now().getTime(), accessKeyId);
      this.#audit.append({
        accessKeyId: actor.accessKeyId,
        operation: 'RevokeAccessKey',
        keys: [],
        changes: [],
        detail: { revokedAccessKeyId: accessKeyId },
      });
    });
  }

  /**
   * Checks the secret key against the one the database was sealed with (a check value in `settings`), and seals
   * any secret still stored in clear (a database from before encryption, revoked keys included). Plain text is
   * overwritten on disk: `secure_delete` zeroes the freed cells and a truncating checkpoint empties the WAL.
   */
  #sealStoredSecrets(keySource: string): void {
    const check = this.#database.setting('secret_key_check');
    if (check !== undefined && !this.#secrets.matches(check)) {
      throw openFrontError(
        'CONFIG_INVALID',
        `The access key secrets in this database were encrypted with another key than ${keySource}: restore the ${SECRET_KEY_FILE} file that was beside the database, or set ${SECRET_KEY_ENV} to that key`,
      );
    }
    const clear = (this.#sql.all.all() as AccessKeyRow[]).filter((row) => !SecretBox.isSealed(row.secret));
    const connection = this.#database.connection;
    if (clear.length > 0) connection.pragma('secure_delete = ON');
    this.#database.transaction(() => {
      if (check === undefined) this.#database.settingOnce('secret_key_check', this.#secrets.check);
      for (const row of clear) this.#sql.seal.run(this.#secrets.seal(row.secret, row.access_key_id), row.access_key_id);
    });
    if (clear.length > 0) {
      connection.pragma('wal_checkpoint(TRUNCATE)');
      connection.pragma('secure_delete = OFF');
    }
  }
}

function prepare(database: SqliteNodeDatabase): Record<'insert' | 'byId' | 'all' | 'revoke' | 'seal', Statement> {
  const c = database.connection;
  return {
    insert: c.prepare('INSERT INTO access_keys (access_key_id, secret, created_ms, description) VALUES (?, ?, ?, ?)'),
    byId: c.prepare('SELECT * FROM access_keys WHERE access_key_id = ?'),
    all: c.prepare('SELECT * FROM access_keys ORDER BY created_ms, access_key_id'),
    revoke: c.prepare('UPDATE access_keys SET revoked_ms = ? WHERE access_key_id = ?'),
    seal: c.prepare('UPDATE access_keys SET secret = ? WHERE access_key_id = ?'),
  };
}
