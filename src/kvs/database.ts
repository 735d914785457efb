/**
 * The durable KeyValueStore: stores, their items, a per-store change log, the audit log and API access keys, all in
 * one SQLite database so that a write, its change record and its audit record commit in one transaction.
 *
 * Durability: WAL journal with `synchronous=FULL`, so an acknowledged write survives a SIGKILL or power loss.
 * Concurrency: better-sqlite3 is synchronous, so one process serialises its own writes; `BEGIN IMMEDIATE` and
 * `busy_timeout` make a second process (a CLI next to a running server) wait instead of failing.
 */
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { closeSync, constants, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as Connection } from 'better-sqlite3';
import { isOpenFrontError, openFrontError } from '../errors.js';
import type { AuditQuery, AuditRecord, NewAuditRecord } from '../observe/audit.js';
import { AuditLog, type AuditEnricher } from './audit-log.js';
import { dataEtag, metadataEtag } from './etag.js';
import { assertRetention, DEFAULT_HISTORY_RETENTION, itemsAtVersion, type HistoryRetention, type ItemsAt } from './history.js';
import { SqliteHistoryLog } from './history-log.js';
import { DEFAULT_KVS_LIMITS } from './limits.js';
import { migrate } from './schema.js';
import { loadOrCreateSecretKey, newAccessKeyCredentials, SECRET_KEY_ENV, SECRET_KEY_FILE, SecretBox } from './secret-box.js';
import type {
  AccessKeyRecord,
  Actor,
  ChangeListener,
  ChangeRecord,
  KeyValue,
  KvsLimits,
  ListKeysPage,
  StoreRecord,
  StoreStatus,
  WriteResult,
} from './types.js';
import { assertComment, assertStoreId, assertStoreName, decodeNextToken, encodeNextToken, parseStoreArn } from './store-rules.js';
import { KeyValueBatch, assertValidKey, assertValidValue, itemBytes, quoteKey, validateUpdate } from './validate.js';
import { assertStoreConforms, assertValuesMatchSchema, type ParsedValueSchema, type StoredValueSchema } from './value-schema.js';
import { ValueSchemaTable } from './value-schema-table.js';

export interface KvsDatabaseOptions {
  /** Limits in force; CloudFront's by default. */
  limits?: KvsLimits;
  /** Clock for timestamps (tests pass a fake one). */
  now?: () => Date;
  /**
   * Change-log versions kept per store: after each write, records older than the newest `changeLogRetention` are
   * removed. Default 1000; `Infinity` keeps everything (compact by hand with `compactChangeLog`).
   */
  changeLogRetention?: number;
  /**
   * The 32-byte key sealing access-key secrets (AES-256-GCM). Default: `OPENFRONT_SECRET_KEY`, else the key file
   * `openfront.key` beside the database (created 0600 on first open); a random key for ':memory:'.
   */
  secretKey?: Buffer;
  /** How long store history is kept (docs/kvs-storage.md, "History"); 30 days and at least 1,000 versions by default. */
  history?: HistoryRetention;
}

/** Called after a store and all its data were deleted. */
export type StoreDeletedListener = (storeId: string) => void;

interface StoreRow {
  id: string;
  name: string;
  comment: string;
  status: StoreStatus;
  failure_reason: string | null;
  created_ms: number;
  last_modified_ms: number;
  metadata_version: number;
  version: number;
  item_count: number;
  total_bytes: number;
}

interface ChangeRow {
  store_id: string;
  version: number;
  at_ms: number;
  replace: number;
  puts: string;
  deletes: string;
}

interface AccessKeyRow {
  access_key_id: string;
  secret: string;
  created_ms: number;
  revoked_ms: number | null;
  description: string | null;
}

/** What a data write does, before it is checked against the store and committed. */
interface DataPlan {
  operation: string;
  puts: KeyValue[];
  deletes: string[];
  /** Clear the store first (bulk import in replace mode). */
  replace: boolean;
  /** Bulk import may omit If-Match; data-plane writes may not. */
  ifMatchOptional: boolean;
  detail?: Record<string, unknown>;
}

type Notification = { kind: 'change'; change: ChangeRecord } | { kind: 'deleted'; storeId: string };

const DEFAULT_LIST_STORES = 100;
const DEFAULT_CHANGE_LOG_RETENTION = 1000;
export { STORE_ID } from './store-rules.js';

export class KvsDatabase {
  readonly accountId: string;
  readonly limits: KvsLimits;
  /** The shared connection: other registries add their own tables and may open transactions on it. */
  readonly connection: Connection;
  /** Store history (kvs/history-log.ts), written inside every data write's transaction. */
  readonly history: SqliteHistoryLog;

  readonly #now: () => Date;
  readonly #retention: number;
  readonly #secrets: SecretBox;
  readonly #audit: AuditLog;
  readonly #sql: ReturnType<typeof prepareStatements>;
  readonly #schemas: ValueSchemaTable;
  readonly #changeListeners = new Set<ChangeListener>();
  readonly #deletedListeners = new Set<StoreDeletedListener>();
  readonly #pending: Notification[] = [];
  #dispatching = false;
  /** While an {@link atomically} block runs: what its commit will announce, in order (undefined outside one). */
  #held: Array<() => void> | undefined;
  #storeInUse: (storeId: string) => boolean = () => false;

  private constructor(connection: Connection, options: KvsDatabaseOptions & { secretKey: Buffer; secretKeySource: string }) {
    this.connection = connection;
    this.#secrets = new SecretBox(options.secretKey);
    this.limits = options.limits ?? DEFAULT_KVS_LIMITS;
    this.#now = options.now ?? (() => new Date());
    this.#retention = options.changeLogRetention ?? DEFAULT_CHANGE_LOG_RETENTION;
    this.#audit = new AuditLog(connection, this.#now);
    this.#sql = prepareStatements(connection);
    this.history = new SqliteHistoryLog(connection, assertRetention(options.history ?? DEFAULT_HISTORY_RETENTION), this.#now);
    this.#schemas = new ValueSchemaTable(connection);
    this.accountId = this.#loadOrCreateAccountId();
    this.#sealStoredSecrets(options.secretKeySource);
  }

  /**
   * Opens (creating if needed) the database at `file`, or an in-memory one for ':memory:'. A new file is created
   * with mode 0600 in a directory created with mode 0700: it holds access-key secrets.
   */
  static open(file: string, options: KvsDatabaseOptions = {}): KvsDatabase {
    if (file !== ':memory:' && !existsSync(file)) {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      // SQLite gives its -wal and -shm files the permissions of the database file.
      closeSync(openSync(file, constants.O_CREAT | constants.O_WRONLY, 0o600));
    }
    const connection = new Database(file);
    try {
      // busy_timeout first: switching to WAL needs a lock another process may hold.
      connection.pragma('busy_timeout = 5000');
      connection.pragma('journal_mode = WAL');
      connection.pragma('synchronous = FULL');
      connection.pragma('foreign_keys = ON');
      migrate(connection);
      const secretKey =
        options.secretKey !== undefined
          ? { key: options.secretKey, source: 'the secretKey option' }
          : file === ':memory:'
            ? { key: randomBytes(32), source: 'a random key' }
            : loadOrCreateSecretKey(dirname(file));
      return new KvsDatabase(connection, { ...options, secretKey: secretKey.key, secretKeySource: secretKey.source });
    } catch (err) {
      connection.close();
      throw err;
    }
  }

  close(): void {
    this.#changeListeners.clear();
    this.#deletedListeners.clear();
    this.connection.close();
  }

  // ---------------------------------------------------------------- control plane

  /**
   * `id` gives the store the id it has in AWS (its `awsId`), so that function code naming it keeps working; a new
   * random UUID otherwise.
   */
  createStore(input: { name: string; comment?: string; importItems?: KeyValue[]; id?: string; schema?: ParsedValueSchema }, actor: Actor): StoreRecord {
    const comment = input.comment ?? '';
    assertStoreName(input.name);
    assertComment(comment);
    if (input.id !== undefined) assertStoreId(input.id);
    let imported: KeyValueBatch | undefined;
    if (input.importItems !== undefined) {
      const batch = new KeyValueBatch(this.limits, { code: 'CF_INVALID_ARGUMENT', label: 'import item' });
      input.importItems.forEach((item, index) => batch.add(item, index));
      imported = batch;
      if (imported.totalBytes > this.limits.maxStoreBytes) {
        throw openFrontError(
          'CF_ENTITY_SIZE_LIMIT_EXCEEDED',
          `Datasource size exceeds the allowed limit (${imported.totalBytes} bytes; the limit is ${this.limits.maxStoreBytes} bytes)`,
        );
      }
    }
    const id = input.id?.toLowerCase() ?? randomUUID();
    if (imported) assertValuesMatchSchema(id, input.name, input.schema, imported.items);
    const at = this.#now();
    const version = imported ? 1 : 0;
    const items = imported?.items ?? [];
    const created = this.connection
      .transaction((): StoreRow => {
        if (this.#sql.storeByName.get(input.name) !== undefined) {
          throw openFrontError('CF_ENTITY_ALREADY_EXISTS', `A KeyValueStore named ${input.name} already exists`, { name: input.name });
        }
        if (input.id !== undefined && this.#sql.storeById.get(id) !== undefined) {
          throw openFrontError('CF_ENTITY_ALREADY_EXISTS', `A KeyValueStore with id ${id} already exists`, { id });
        }
        const count = this.#sql.storeCount.get() as number;
        if (count >= this.limits.maxStoresPerAccount) {
          throw openFrontError('CF_ENTITY_LIMIT_EXCEEDED', `The account already has ${count} KeyValueStores; the limit is ${this.limits.maxStoresPerAccount}`);
        }
        this.#sql.insertStore.run({
          id,
          name: input.name,
          comment,
          status: 'READY',
          at: at.getTime(),
          version,
          itemCount: items.length,
          totalBytes: imported?.totalBytes ?? 0,
        });
        if (input.schema !== undefined) this.#schemas.put(id, input.schema, at, actor.accessKeyId);
        for (const item of items) this.#sql.upsertItem.run(id, item.key, item.value);
        if (imported) this.#recordChange({ storeId: id, version, puts: items, deletes: [], replace: true, at });
        if (imported) {
          const changes = items.map((item) => ({ key: item.key, before: null, after: item.value }));
          this.history.record(id, { version, prevVersion: 0, at, accessKeyId: actor.accessKeyId, operation: 'CreateKeyValueStore', changes });
        }
        this.#audit.append({
          accessKeyId: actor.accessKeyId,
          operation: 'CreateKeyValueStore',
          storeId: id,
          storeName: input.name,
          keys: items.map((item) => item.key),
          changes: items.map((item) => ({ key: item.key, before: null, after: item.value })),
          etagTo: metadataEtag(id, 1),
          detail: {
            comment,
            version,
            dataEtag: dataEtag(id, version),
            imported: imported !== undefined,
            ...(input.schema ? { valueSchemaEtag: input.schema.etag } : {}),
          },
        });
        return this.#sql.storeById.get(id) as StoreRow;
      })
      .immediate();
    if (imported) this.#notify({ kind: 'change', change: { storeId: id, version, puts: items, deletes: [], replace: true, at } });
    return this.#toRecord(created);
  }

  getStore(ref: { name: string } | { id: string } | { arn: string }): StoreRecord | undefined {
    const row = this.#findStore(ref);
    return row && this.#toRecord(row);
  }

  listStores(options: { marker?: string; maxItems?: number; status?: string } = {}): { items: StoreRecord[]; nextMarker?: string } {
    const maxItems = options.maxItems ?? DEFAULT_LIST_STORES;
    if (!Number.isInteger(maxItems) || maxItems < 1) {
      throw openFrontError('CF_INVALID_ARGUMENT', `MaxItems must be a positive integer, got ${maxItems}`);
    }
    const rows = this.#sql.listStores.all({ marker: options.marker ?? '', status: options.status ?? null, limit: maxItems + 1 }) as StoreRow[];
    const page = rows.slice(0, maxItems).map((row) => this.#toRecord(row));
    return rows.length > maxItems ? { items: page, nextMarker: page[page.length - 1].name } : { items: page };
  }

  updateStoreComment(name: string, comment: string, ifMatch: string | undefined, actor: Actor): StoreRecord {
    assertComment(comment);
    return this.connection
      .transaction(() => {
        const store = this.#requireControlStore(name, ifMatch);
        const etagFrom = metadataEtag(store.id, store.metadata_version);
        const metadataVersion = store.metadata_version + 1;
        this.#sql.updateStoreMeta.run(comment, metadataVersion, this.#now().getTime(), store.id);
        this.#audit.append({
          accessKeyId: actor.accessKeyId,
          operation: 'UpdateKeyValueStore',
          storeId: store.id,
          storeName: store.name,
          keys: [],
          changes: [],
          etagFrom,
          etagTo: metadataEtag(store.id, metadataVersion),
          detail: { commentBefore: store.comment, commentAfter: comment },
        });
        return this.#toRecord(this.#sql.storeById.get(store.id) as StoreRow);
      })
      .immediate();
  }

  deleteStore(name: string, ifMatch: string | undefined, actor: Actor): void {
    const storeId = this.connection
      .transaction(() => {
        const store = this.#requireControlStore(name, ifMatch);
        if (this.#storeInUse(store.id)) {
          throw openFrontError('CF_IN_USE', `KeyValueStore ${name} is associated with a function`, { name });
        }
        // Items and change records go with the store (ON DELETE CASCADE); the audit log keeps its history.
        this.#sql.deleteStore.run(store.id);
        this.#audit.append({
          accessKeyId: actor.accessKeyId,
          operation: 'DeleteKeyValueStore',
          storeId: store.id,
          storeName: store.name,
          keys: [],
          changes: [],
          etagFrom: metadataEtag(store.id, store.metadata_version),
          detail: { version: store.version, itemCount: store.item_count, totalSizeInBytes: store.total_bytes },
        });
        return store.id;
      })
      .immediate();
    this.#notify({ kind: 'deleted', storeId });
  }

  /** Registries that associate functions with stores tell the database how to ask "is this store in use?". */
  setStoreInUseCheck(check: (storeId: string) => boolean): void {
    this.#storeInUse = check;
  }

  // ---------------------------------------------------------------- data plane

  getKey(storeId: string, key: string): { key: string; value: string; itemCount: number; totalSizeInBytes: number } {
    assertValidKey(key, this.limits);
    const store = this.#requireDataStore(storeId);
    const value = this.#sql.getValue.get(storeId, key) as string | undefined;
    if (value === undefined) throw openFrontError('KVS_NOT_FOUND', `Key ${quoteKey(key)} was not found`, { key });
    return { key, value, itemCount: store.item_count, totalSizeInBytes: store.total_bytes };
  }

  /** Keys in UTF-8 byte order; `nextToken` is opaque (it encodes the last key returned). */
  listKeys(storeId: string, options: { maxResults?: number; nextToken?: string } = {}): ListKeysPage {
    const maxResults = options.maxResults ?? this.limits.defaultListResults;
    if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > this.limits.maxListResults) {
      throw openFrontError('KVS_VALIDATION', `MaxResults must be between 1 and ${this.limits.maxListResults}, got ${maxResults}`);
    }
    const after = options.nextToken === undefined ? '' : decodeNextToken(options.nextToken);
    this.#requireDataStore(storeId);
    const rows = this.#sql.listItems.all(storeId, after, maxResults + 1) as KeyValue[];
    const items = rows.slice(0, maxResults);
    return rows.length > maxResults ? { items, nextToken: encodeNextToken(items[items.length - 1].key) } : { items };
  }

  putKey(storeId: string, key: string, value: string, ifMatch: string | undefined, actor: Actor): WriteResult {
    assertValidKey(key, this.limits);
    assertValidValue(key, value, this.limits);
    return this.#writeData(storeId, ifMatch, actor, { operation: 'PutKey', puts: [{ key, value }], deletes: [], replace: false, ifMatchOptional: false });
  }

  /** Deleting a key that does not exist succeeds and advances the ETag, like any other accepted write. */
  deleteKey(storeId: string, key: string, ifMatch: string | undefined, actor: Actor): WriteResult {
    assertValidKey(key, this.limits);
    return this.#writeData(storeId, ifMatch, actor, { operation: 'DeleteKey', puts: [], deletes: [key], replace: false, ifMatchOptional: false });
  }

  updateKeys(storeId: string, change: { puts?: KeyValue[]; deletes?: string[] }, ifMatch: string | undefined, actor: Actor): WriteResult {
    const { puts, deletes } = validateUpdate(change, this.limits);
    return this.#writeData(storeId, ifMatch, actor, { operation: 'UpdateKeys', puts, deletes, replace: false, ifMatchOptional: false });
  }

  /** Bulk import, not limited to 50 keys: validate everything first, then apply in one transaction. */
  importData(storeId: string, items: KeyValue[], options: { mode: 'replace' | 'merge'; ifMatch?: string }, actor: Actor): WriteResult {
    const batch = new KeyValueBatch(this.limits, { label: 'import item' });
    items.forEach((item, index) => batch.add(item, index));
    return this.#writeData(storeId, options.ifMatch, actor, {
      operation: 'ImportKeys',
      puts: batch.items,
      deletes: [],
      replace: options.mode === 'replace',
      ifMatchOptional: true,
      detail: { mode: options.mode, itemCount: batch.size },
    });
  }

  /**
   * One store's part of a change set (`kvs/change-set.ts`, already validated): UpdateKeys without its 50-key cap,
   * If-Match required, audited as `operation` (a release's writes: docs/safe-changes.md#releases).
   */
  writeChanges(
    storeId: string,
    change: { puts: KeyValue[]; deletes: string[] },
    ifMatch: string,
    actor: Actor,
    audit: { operation: string; detail?: Record<string, unknown> },
  ): WriteResult {
    const batch = new KeyValueBatch(this.limits, { label: 'Puts' });
    change.puts.forEach((item, index) => batch.add(item, index));
    change.deletes.forEach((key, index) => assertValidKey(key, this.limits, { label: 'Deletes', index }));
    return this.#writeData(storeId, ifMatch, actor, {
      operation: audit.operation,
      puts: batch.items,
      deletes: change.deletes,
      replace: false,
      ifMatchOptional: false,
      detail: audit.detail,
    });
  }

  /**
   * Runs `fn` in ONE transaction and holds every change notification it causes (store changes here, LIVE moves of
   * the function registry through {@link afterCommit}) until the commit; then delivers them all in one synchronous
   * step, so the same process's edge never serves a state between two of them (a release's data and its LIVE move).
   * If `fn` throws, nothing is committed and nothing is announced.
   */
  atomically<T>(fn: () => T): T {
    if (this.#held !== undefined) return fn();
    const held: Array<() => void> = [];
    this.#held = held;
    let result: T;
    try {
      result = this.connection.transaction(fn).immediate();
    } finally {
      this.#held = undefined;
    }
    for (const announce of held) announce();
    return result;
  }

  /** Runs `announce` now, or at the commit of the {@link atomically} block running (registries announce through this). */
  afterCommit(announce: () => void): void {
    if (this.#held !== undefined) this.#held.push(announce);
    else announce();
  }

  /** Every item of the store, in UTF-8 byte order of keys. */
  exportData(storeId: string): KeyValue[] {
    this.#requireDataStore(storeId);
    return this.#sql.allItems.all(storeId) as KeyValue[];
  }

  // ---------------------------------------------------------------- history (docs/safe-changes.md)

  /** The store as of `version`, read in one transaction (a snapshot even with another process writing). */
  itemsAt(storeId: string, version: number): ItemsAt {
    return this.connection.transaction(() => {
      const store = this.#requireDataStore(storeId);
      const entries = version < store.version ? this.history.entriesAfter(storeId, version) : [];
      const items = version <= store.version ? (this.#sql.allItems.all(storeId) as KeyValue[]) : [];
      return itemsAtVersion(storeId, { version: store.version, items }, version, entries);
    })();
  }

  /**
   * Makes the store equal to version `toVersion` in ONE new write (operation `Rollback`): a replace of every item.
   * `ifMatch` is required; it names the version the target was computed on, and the write checks it again inside its
   * own transaction, so a write in between (another process) is a KVS_CONFLICT with nothing written.
   */
  rollback(storeId: string, toVersion: number, ifMatch: string | undefined, actor: Actor): WriteResult {
    const target = this.itemsAt(storeId, toVersion);
    if (ifMatch === undefined || ifMatch !== dataEtag(storeId, target.currentVersion)) {
      throw openFrontError(
        'KVS_CONFLICT',
        ifMatch === undefined
          ? 'Resource is not in expected state: If-Match is required'
          : `Resource is not in expected state: ETag ${ifMatch} is not the current version of the store`,
        { storeId },
      );
    }
    return this.#writeData(storeId, ifMatch, actor, {
      operation: 'Rollback',
      puts: target.items,
      deletes: [],
      replace: true,
      ifMatchOptional: false,
      detail: { toVersion, itemCount: target.items.length },
    });
  }

  // ---------------------------------------------------------------- value schemas

  getValueSchema(storeId: string): StoredValueSchema | undefined {
    this.#requireDataStore(storeId);
    return this.#schemas.get(storeId);
  }

  /** See `StoreState.setSchema`: checked against every stored value in the same transaction that sets it. */
  setValueSchema(
    storeId: string,
    schema: ParsedValueSchema | undefined,
    actor: Actor,
    options: { force?: boolean; ifMatch?: string } = {},
  ): StoredValueSchema | undefined {
    return this.connection
      .transaction(() => {
        const store = this.#requireDataStore(storeId);
        const before = this.#schemas.get(storeId);
        const current = before?.etag ?? 'none';
        if (options.ifMatch !== undefined && options.ifMatch !== current) {
          throw openFrontError(
            'CF_PRECONDITION_FAILED',
            `The If-Match ${options.ifMatch} is not the current value schema of store ${store.name} (${current})`,
            {
              storeId,
            },
          );
        }
        let nonconforming: number | undefined;
        if (schema !== undefined) {
          try {
            assertStoreConforms(storeId, store.name, schema, this.#sql.allItems.iterate(storeId) as Iterable<KeyValue>);
          } catch (err) {
            if (!options.force || !isOpenFrontError(err) || err.code !== 'KVS_SCHEMA_NONCONFORMING') throw err;
            nonconforming = err.details.count as number;
          }
        }
        this.#schemas.put(storeId, schema, this.#now(), actor.accessKeyId);
        this.#audit.append({
          accessKeyId: actor.accessKeyId,
          operation: schema === undefined ? 'DeleteValueSchema' : 'PutValueSchema',
          storeId,
          storeName: store.name,
          keys: [],
          changes: [],
          detail: {
            etagFrom: before?.etag ?? null,
            etagTo: schema?.etag ?? null,
            ...(schema ? { document: schema.document } : {}),
            ...(options.force ? { force: true, nonconforming: nonconforming ?? 0 } : {}),
          },
        });
        return this.#schemas.get(storeId);
      })
      .immediate();
  }

  // ---------------------------------------------------------------- change log

  /**
   * Committed changes with a version greater than `afterVersion`, oldest first. The log is compacted: when the first
   * record returned is not `afterVersion + 1`, the caller is too far behind and must load the whole store.
   */
  changesSince(storeId: string, afterVersion: number): ChangeRecord[] {
    this.#requireDataStore(storeId);
    return (this.#sql.changesSince.all(storeId, afterVersion) as ChangeRow[]).map(rowToChange);
  }

  /** Removes change records older than the newest `keepLastVersions` versions; returns how many were removed. */
  compactChangeLog(storeId: string, keepLastVersions: number): number {
    if (!Number.isInteger(keepLastVersions) || keepLastVersions < 0) {
      throw openFrontError('INPUT_INVALID', `keepLastVersions must be a non-negative integer, got ${keepLastVersions}`);
    }
    const store = this.#requireDataStore(storeId);
    return this.#sql.compactChanges.run(storeId, store.version - keepLastVersions).changes;
  }

  /** `listener` is called synchronously after each commit, in version order; returns an unsubscribe function. */
  onChange(listener: ChangeListener): () => void {
    this.#changeListeners.add(listener);
    return () => this.#changeListeners.delete(listener);
  }

  /** `listener` is called after a store was deleted (replicas drop their copy). */
  onStoreDeleted(listener: StoreDeletedListener): () => void {
    this.#deletedListeners.add(listener);
    return () => this.#deletedListeners.delete(listener);
  }

  // ---------------------------------------------------------------- audit

  /** Audit records matching `query`, newest first (at most `query.limit`, default 100). */
  listAudit(query: AuditQuery = {}): AuditRecord[] {
    return this.#audit.list(query);
  }

  /** perms (issue 15): adds fields (owner, labels) to the detail of every audit record appended from now on. */
  addAuditEnricher(enrich: AuditEnricher): void {
    this.#audit.addEnricher(enrich);
  }

  /** For other registries (function lifecycle) writing their own audit records inside their own transaction. */
  appendAudit(record: NewAuditRecord): void {
    this.#audit.append(record);
  }

  // ---------------------------------------------------------------- access keys

  /**
   * Creates an AWS-style key pair. SigV4 verification needs the secret in clear, so it is stored encrypted with the
   * secret key (never in the database), not hashed.
   */
  createAccessKey(description?: string, actor: Actor = { accessKeyId: 'local' }): { accessKeyId: string; secretAccessKey: string } {
    const { accessKeyId, secretAccessKey } = newAccessKeyCredentials();
    this.connection.transaction(() => {
      this.#sql.insertAccessKey.run(accessKeyId, this.#secrets.seal(secretAccessKey, accessKeyId), this.#now().getTime(), description ?? null);
      this.#audit.append({ accessKeyId: actor.accessKeyId, operation: 'CreateAccessKey', keys: [], changes: [], detail: { createdAccessKeyId: accessKeyId } });
    })();
    return { accessKeyId, secretAccessKey };
  }

  /** The secret of an active key; undefined when the key is unknown or revoked. */
  getAccessKeySecret(accessKeyId: string): string | undefined {
    const row = this.#sql.accessKey.get(accessKeyId) as AccessKeyRow | undefined;
    return row && row.revoked_ms === null ? this.#secrets.open(row.secret, accessKeyId) : undefined;
  }

  /**
   * Checks the secret key against the one the database was sealed with (a check value in `settings`), and seals
   * any secret still stored in clear (a database from before encryption, revoked keys included). Plain text is
   * overwritten on disk: `secure_delete` zeroes the freed cells and a truncating checkpoint empties the WAL.
   */
  #sealStoredSecrets(keySource: string): void {
    const check = this.#sql.getSetting.get('secret_key_check') as string | undefined;
    if (check !== undefined && !this.#secrets.matches(check)) {
      throw openFrontError(
        'CONFIG_INVALID',
        `The access key secrets in this database were encrypted with another key than ${keySource}: restore the ${SECRET_KEY_FILE} file that was beside the database, or set ${SECRET_KEY_ENV} to that key`,
      );
    }
    const clear = (this.#sql.accessKeys.all() as AccessKeyRow[]).filter((row) => !SecretBox.isSealed(row.secret));
    if (clear.length > 0) this.connection.pragma('secure_delete = ON');
    this.connection.transaction(() => {
      if (check === undefined) this.#sql.insertSetting.run('secret_key_check', this.#secrets.check);
      for (const row of clear) this.#sql.sealAccessKey.run(this.#secrets.seal(row.secret, row.access_key_id), row.access_key_id);
    })();
    if (clear.length > 0) {
      this.connection.pragma('wal_checkpoint(TRUNCATE)');
      this.connection.pragma('secure_delete = OFF');
    }
  }

  listAccessKeys(): AccessKeyRecord[] {
    return (this.#sql.accessKeys.all() as AccessKeyRow[]).map((row) => {
      const record: AccessKeyRecord = { accessKeyId: row.access_key_id, created: new Date(row.created_ms) };
      if (row.revoked_ms !== null) record.revoked = new Date(row.revoked_ms);
      if (row.description !== null) record.description = row.description;
      return record;
    });
  }

  /** Revokes a key (idempotent for a key already revoked); an unknown id is NOT_FOUND. */
  revokeAccessKey(accessKeyId: string, actor: Actor = { accessKeyId: 'local' }): void {
    this.connection
      .transaction(() => {
        const row = this.#sql.accessKey.get(accessKeyId) as AccessKeyRow | undefined;
        if (row === undefined) throw openFrontError('NOT_FOUND', `Access key ${accessKeyId} does not exist`, { accessKeyId });
        if (row.revoked_ms !== null) return;
        this.#sql.revokeAccessKey.run(this.#now().getTime(), accessKeyId);
        this.#audit.append({
          accessKeyId: actor.accessKeyId,
          operation: 'RevokeAccessKey',
          keys: [],
          changes: [],
          detail: { revokedAccessKeyId: accessKeyId },
        });
      })
      .immediate();
  }

  // ---------------------------------------------------------------- internals

  #loadOrCreateAccountId(): string {
    const existing = this.#sql.getSetting.get('account_id') as string | undefined;
    if (existing !== undefined) return existing;
    const generated = String(randomInt(0, 1e12)).padStart(12, '0');
    // INSERT OR IGNORE: a second process opening a new file at the same moment keeps the first id.
    this.#sql.insertSetting.run('account_id', generated);
    return this.#sql.getSetting.get('account_id') as string;
  }

  #findStore(ref: { name: string } | { id: string } | { arn: string }): StoreRow | undefined {
    if ('name' in ref) return this.#sql.storeByName.get(ref.name) as StoreRow | undefined;
    if ('id' in ref) return this.#sql.storeById.get(ref.id.toLowerCase()) as StoreRow | undefined;
    const parsed = parseStoreArn(ref.arn);
    if (parsed === undefined || parsed.accountId !== this.accountId) return undefined;
    return this.#sql.storeById.get(parsed.id) as StoreRow | undefined;
  }

  #requireDataStore(storeId: string): StoreRow {
    const row = this.#sql.storeById.get(storeId) as StoreRow | undefined;
    if (row === undefined) throw openFrontError('KVS_NOT_FOUND', `KeyValueStore ${storeId} was not found`, { storeId });
    return row;
  }

  /** Control-plane precondition order: If-Match present (400), store exists (404), If-Match current (412). */
  #requireControlStore(name: string, ifMatch: string | undefined): StoreRow {
    if (ifMatch === undefined || ifMatch === '') throw openFrontError('CF_INVALID_IF_MATCH', 'The If-Match header is required');
    const row = this.#sql.storeByName.get(name) as StoreRow | undefined;
    if (row === undefined) throw openFrontError('CF_ENTITY_NOT_FOUND', `KeyValueStore ${name} was not found`, { name });
    if (ifMatch !== metadataEtag(row.id, row.metadata_version)) {
      throw openFrontError('CF_PRECONDITION_FAILED', `The If-Match version ${ifMatch} is not the current version of KeyValueStore ${name}`, { name });
    }
    return row;
  }

  /**
   * The one path every data write takes: check the store and If-Match, compute the new size, refuse it over quota,
   * then apply items, bump the version, record the change and the audit record — all in one transaction.
   */
  #writeData(storeId: string, ifMatch: string | undefined, actor: Actor, plan: DataPlan): WriteResult {
    const at = this.#now();
    const { change, itemCount, totalSizeInBytes } = this.connection
      .transaction(() => {
        const store = this.#requireDataStore(storeId);
        const etagFrom = dataEtag(store.id, store.version);
        if (ifMatch !== etagFrom && !(plan.ifMatchOptional && ifMatch === undefined)) {
          throw openFrontError(
            'KVS_CONFLICT',
            ifMatch === undefined
              ? 'Resource is not in expected state: If-Match is required'
              : `Resource is not in expected state: ETag ${ifMatch} is not the current version of the store`,
            { storeId },
          );
        }
        assertValuesMatchSchema(store.id, store.name, this.#schemas.get(store.id), plan.puts);
        const { changes, itemCount, totalBytes } = plan.replace ? this.#planReplace(store, plan) : this.#planEdits(store, plan);
        if (totalBytes > this.limits.maxStoreBytes) {
          throw openFrontError('KVS_QUOTA_EXCEEDED', `The store would hold ${totalBytes} bytes; the limit is ${this.limits.maxStoreBytes} bytes`, {
            storeId,
            totalSizeInBytes: totalBytes,
          });
        }
        if (plan.replace) this.#sql.deleteAllItems.run(storeId);
        for (const item of plan.puts) this.#sql.upsertItem.run(storeId, item.key, item.value);
        for (const key of plan.deletes) this.#sql.deleteItem.run(storeId, key);
        const version = store.version + 1;
        this.#sql.updateStoreData.run(version, itemCount, totalBytes, at.getTime(), storeId);
        const record: ChangeRecord = { storeId, version, puts: plan.puts, deletes: plan.deletes, replace: plan.replace, at };
        this.#recordChange(record);
        this.history.record(storeId, { version, prevVersion: store.version, at, accessKeyId: actor.accessKeyId, operation: plan.operation, changes });
        this.#audit.append({
          accessKeyId: actor.accessKeyId,
          operation: plan.operation,
          storeId,
          storeName: store.name,
          keys: changes.map((entry) => entry.key),
          changes,
          etagFrom,
          etagTo: dataEtag(storeId, version),
          detail: { version, ...plan.detail },
        });
        return { change: record, itemCount, totalSizeInBytes: totalBytes };
      })
      .immediate();
    // Listeners may write in turn, so the result is what this write committed, not what the store holds later.
    this.#notify({ kind: 'change', change });
    return { etag: dataEtag(storeId, change.version), version: change.version, itemCount, totalSizeInBytes };
  }

  #planEdits(store: StoreRow, plan: DataPlan): { changes: AuditRecord['changes']; itemCount: number; totalBytes: number } {
    let itemCount = store.item_count;
    let totalBytes = store.total_bytes;
    const changes: AuditRecord['changes'] = [];
    for (const { key, value } of plan.puts) {
      const before = (this.#sql.getValue.get(store.id, key) as string | undefined) ?? null;
      if (before === null) itemCount += 1;
      else totalBytes -= itemBytes(key, before);
      totalBytes += itemBytes(key, value);
      changes.push({ key, before, after: value });
    }
    for (const key of plan.deletes) {
      const before = (this.#sql.getValue.get(store.id, key) as string | undefined) ?? null;
      if (before !== null) {
        itemCount -= 1;
        totalBytes -= itemBytes(key, before);
      }
      changes.push({ key, before, after: null });
    }
    return { changes, itemCount, totalBytes };
  }

  /** A replace import audits only the keys whose value differs, so re-importing the same file stays small. */
  #planReplace(store: StoreRow, plan: DataPlan): { changes: AuditRecord['changes']; itemCount: number; totalBytes: number } {
    const current = new Map((this.#sql.allItems.all(store.id) as KeyValue[]).map((item) => [item.key, item.value]));
    const changes: AuditRecord['changes'] = [];
    let totalBytes = 0;
    for (const { key, value } of plan.puts) {
      const before = current.get(key) ?? null;
      if (before !== value) changes.push({ key, before, after: value });
      current.delete(key);
      totalBytes += itemBytes(key, value);
    }
    for (const [key, before] of current) changes.push({ key, before, after: null });
    return { changes, itemCount: plan.puts.length, totalBytes };
  }

  #recordChange(change: ChangeRecord): void {
    this.#sql.insertChange.run(
      change.storeId,
      change.version,
      change.at.getTime(),
      change.replace ? 1 : 0,
      JSON.stringify(change.puts),
      JSON.stringify(change.deletes),
    );
    if (Number.isFinite(this.#retention)) this.#sql.compactChanges.run(change.storeId, change.version - this.#retention);
  }

  /**
   * Delivers notifications in commit order. A listener that writes (and so notifies) while being notified only
   * queues its notification, so every listener still sees versions in order.
   */
  #notify(notification: Notification): void {
    if (this.#held !== undefined) {
      this.#held.push(() => this.#notify(notification));
      return;
    }
    this.#pending.push(notification);
    if (this.#dispatching) return;
    this.#dispatching = true;
    try {
      for (let next = this.#pending.shift(); next !== undefined; next = this.#pending.shift()) {
        if (next.kind === 'change') {
          const { change } = next;
          for (const listener of [...this.#changeListeners]) callSafely(() => listener(change));
        } else {
          const { storeId } = next;
          for (const listener of [...this.#deletedListeners]) callSafely(() => listener(storeId));
        }
      }
    } finally {
      this.#dispatching = false;
    }
  }

  #toRecord(row: StoreRow): StoreRecord {
    const record: StoreRecord = {
      id: row.id,
      name: row.name,
      arn: `arn:aws:cloudfront::${this.accountId}:key-value-store/${row.id}`,
      comment: row.comment,
      status: row.status,
      created: new Date(row.created_ms),
      lastModified: new Date(row.last_modified_ms),
      metadataEtag: metadataEtag(row.id, row.metadata_version),
      version: row.version,
      etag: dataEtag(row.id, row.version),
      itemCount: row.item_count,
      totalSizeInBytes: row.total_bytes,
    };
    if (row.failure_reason !== null) record.failureReason = row.failure_reason;
    return record;
  }
}

function prepareStatements(db: Connection) {
  return {
    getSetting: db.prepare('SELECT value FROM settings WHERE name = ?').pluck(),
    insertSetting: db.prepare('INSERT OR IGNORE INTO settings (name, value) VALUES (?, ?)'),
    storeById: db.prepare('SELECT * FROM kvs_stores WHERE id = ?'),
    storeByName: db.prepare('SELECT * FROM kvs_stores WHERE name = ?'),
    storeCount: db.prepare('SELECT count(*) FROM kvs_stores').pluck(),
    listStores: db.prepare('SELECT * FROM kvs_stores WHERE name > @marker AND (@status IS NULL OR status = @status) ORDER BY name LIMIT @limit'),
    insertStore: db.prepare(
      `INSERT INTO kvs_stores (id, name, comment, status, created_ms, last_modified_ms, metadata_version, version, item_count, total_bytes)
       VALUES (@id, @name, @comment, @status, @at, @at, 1, @version, @itemCount, @totalBytes)`,
    ),
    updateStoreMeta: db.prepare('UPDATE kvs_stores SET comment = ?, metadata_version = ?, last_modified_ms = ? WHERE id = ?'),
    updateStoreData: db.prepare('UPDATE kvs_stores SET version = ?, item_count = ?, total_bytes = ?, last_modified_ms = ? WHERE id = ?'),
    deleteStore: db.prepare('DELETE FROM kvs_stores WHERE id = ?'),
    getValue: db.prepare('SELECT value FROM kvs_items WHERE store_id = ? AND key = ?').pluck(),
    listItems: db.prepare('SELECT key, value FROM kvs_items WHERE store_id = ? AND key > ? ORDER BY key LIMIT ?'),
    allItems: db.prepare('SELECT key, value FROM kvs_items WHERE store_id = ? ORDER BY key'),
    upsertItem: db.prepare('INSERT INTO kvs_items (store_id, key, value) VALUES (?, ?, ?) ON CONFLICT (store_id, key) DO UPDATE SET value = excluded.value'),
    deleteItem: db.prepare('DELETE FROM kvs_items WHERE store_id = ? AND key = ?'),
    deleteAllItems: db.prepare('DELETE FROM kvs_items WHERE store_id = ?'),
    insertChange: db.prepare('INSERT INTO kvs_changes (store_id, version, at_ms, replace, puts, deletes) VALUES (?, ?, ?, ?, ?, ?)'),
    changesSince: db.prepare('SELECT * FROM kvs_changes WHERE store_id = ? AND version > ? ORDER BY version'),
    compactChanges: db.prepare('DELETE FROM kvs_changes WHERE store_id = ? AND version <= ?'),
    insertAccessKey: db.prepare('INSERT INTO access_keys (access_key_id, secret, created_ms, description) VALUES (?, ?, ?, ?)'),
    accessKey: db.prepare('SELECT * FROM access_keys WHERE access_key_id = ?'),
    accessKeys: db.prepare('SELECT * FROM access_keys ORDER BY created_ms, access_key_id'),
    revokeAccessKey: db.prepare('UPDATE access_keys SET revoked_ms = ? WHERE access_key_id = ?'),
    sealAccessKey: db.prepare('UPDATE access_keys SET secret = ? WHERE access_key_id = ?'),
  };
}

/** The write is committed: a failing subscriber must not turn it into an error for the writer. */
function callSafely(notify: () => void): void {
  try {
    notify();
  } catch (err) {
    process.emitWarning(err instanceof Error ? err : String(err), 'OpenFrontChangeListenerWarning');
  }
}

function rowToChange(row: ChangeRow): ChangeRecord {
  return {
    storeId: row.store_id,
    version: row.version,
    puts: JSON.parse(row.puts) as KeyValue[],
    deletes: JSON.parse(row.deletes) as string[],
    replace: row.replace === 1,
    at: new Date(row.at_ms),
  };
}
