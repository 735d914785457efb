/**
 * The KeyValueStores of the node's SQLite file: stores, their items, the per-store change log, store history and
 * value schemas. A write, its change record, its history entry and its audit record commit in one transaction on the
 * node database's connection (`node-database.ts`); after the commit, `onChange` listeners (the replicas of the same
 * process) hear of it in version order. Synchronous; `store-state.ts` is the async `StoreState` over it.
 */
import { randomUUID } from 'node:crypto';
import { isOpenFrontError, openFrontError } from '../../errors.js';
import type { AuditRecord } from '../../observe/audit.js';
import { dataEtag, metadataEtag } from '../../kvs/etag.js';
import { assertRetention, DEFAULT_HISTORY_RETENTION, itemsAtVersion, type HistoryRetention, type ItemsAt } from '../../kvs/history.js';
import { SqliteHistoryLog } from './history-log.js';
import { DEFAULT_KVS_LIMITS } from '../../kvs/limits.js';
import { storeRecord } from '../../kvs/store-record.js';
import type {
  Actor,
  ChangeListener,
  ChangeRecord,
  KeyValue,
  KvsLimits,
  ListKeysPage,
  StoreChangeFeed,
  StoreRecord,
  StoreStatus,
  WriteResult,
} from '../../kvs/types.js';
import {
  assertComment,
  assertStoreId,
  assertStoreName,
  decodeNextToken,
  encodeNextToken,
  ifMatchConflict,
  parseStoreArn,
  storeArn,
} from '../../kvs/store-rules.js';
import { KeyValueBatch, assertValidKey, assertValidValue, itemBytes, quoteKey, validateUpdate } from '../../kvs/validate.js';
import { assertStoreConforms, assertValuesMatchSchema, type ParsedValueSchema, type StoredValueSchema } from '../../kvs/value-schema.js';
import { ValueSchemaTable } from './value-schema-table.js';
import type { SqliteAuditLog } from './audit-log.js';
import type { SqliteNodeDatabase } from './node-database.js';

export interface StoreOptions {
  /** Limits in force; CloudFront's by default. */
  limits?: KvsLimits;
  /**
   * Change-log versions kept per store: after each write, records older than the newest `changeLogRetention` are
   * removed. Default 1000; `Infinity` keeps everything (compact by hand with `compactChangeLog`).
   */
  changeLogRetention?: number;
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

export class SqliteStores implements StoreChangeFeed {
  readonly limits: KvsLimits;
  /** Store history (history-log.ts), written inside every data write's transaction. */
  readonly history: SqliteHistoryLog;

  readonly #database: SqliteNodeDatabase;
  readonly #now: () => Date;
  readonly #retention: number;
  readonly #audit: SqliteAuditLog;
  readonly #sql: ReturnType<typeof prepareStatements>;
  readonly #schemas: ValueSchemaTable;
  readonly #changeListeners = new Set<ChangeListener>();
  readonly #deletedListeners = new Set<StoreDeletedListener>();
  readonly #pending: Notification[] = [];
  #dispatching = false;
  #storeInUse: (storeId: string) => boolean = () => false;

  constructor(database: SqliteNodeDatabase, audit: SqliteAuditLog, options: StoreOptions = {}) {
    this.#database = database;
    this.#audit = audit;
    this.limits = options.limits ?? DEFAULT_KVS_LIMITS;
    this.#now = database.now;
    this.#retention = options.changeLogRetention ?? DEFAULT_CHANGE_LOG_RETENTION;
    this.#sql = prepareStatements(database);
    this.history = new SqliteHistoryLog(database.connection, assertRetention(options.history ?? DEFAULT_HISTORY_RETENTION), this.#now);
    this.#schemas = new ValueSchemaTable(database.connection);
  }

  /** The account of the stores' ARNs (the node database's). */
  get accountId(): string {
    return this.#database.accountId;
  }

  /** Forgets every listener (the node is closing). */
  close(): void {
    this.#changeListeners.clear();
    this.#deletedListeners.clear();
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
    const created = this.#database.write((): StoreRow => {
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
    });
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
    return this.#database.write(() => {
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
    });
  }

  deleteStore(name: string, ifMatch: string | undefined, actor: Actor): void {
    const storeId = this.#database.write(() => {
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
    });
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

  /** The value of `key`, undefined when the store or the key does not exist (unchecked: for other parts of this backend). */
  valueOf(storeId: string, key: string): string | undefined {
    return this.#sql.getValue.get(storeId, key) as string | undefined;
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

  /** Every item of the store, in UTF-8 byte order of keys. */
  exportData(storeId: string): KeyValue[] {
    this.#requireDataStore(storeId);
    return this.#sql.allItems.all(storeId) as KeyValue[];
  }

  // ---------------------------------------------------------------- history (docs/safe-changes.md)

  /** The store as of `version`, read in one transaction (a snapshot even with another process writing). */
  itemsAt(storeId: string, version: number): ItemsAt {
    return this.#database.transaction(() => {
      const store = this.#requireDataStore(storeId);
      const entries = version < store.version ? this.history.entriesAfter(storeId, version) : [];
      const items = version <= store.version ? (this.#sql.allItems.all(storeId) as KeyValue[]) : [];
      return itemsAtVersion(storeId, { version: store.version, items }, version, entries);
    });
  }

  /**
   * Makes the store equal to version `toVersion` in ONE new write (operation `Rollback`): a replace of every item.
   * `ifMatch` is required; it names the version the target was computed on, and the write checks it again inside its
   * own transaction, so a write in between (another process) is a KVS_CONFLICT with nothing written.
   */
  rollback(storeId: string, toVersion: number, ifMatch: string | undefined, actor: Actor): WriteResult {
    const target = this.itemsAt(storeId, toVersion);
    if (ifMatch === undefined || ifMatch !== dataEtag(storeId, target.currentVersion)) {
      throw ifMatchConflict(storeId, ifMatch);
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
    return this.#database.write(() => {
      const store = this.#requireDataStore(storeId);
      const before = this.#schemas.get(storeId);
      const current = before?.etag ?? 'none';
      if (options.ifMatch !== undefined && options.ifMatch !== current) {
        throw openFrontError('CF_PRECONDITION_FAILED', `The If-Match ${options.ifMatch} is not the current value schema of store ${store.name} (${current})`, {
          storeId,
        });
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
    });
  }

  // ---------------------------------------------------------------- change log

  /** The store and every item of its current version, read in one transaction (what a replica loads). */
  loadStore(storeId: string): { store: StoreRecord; items: KeyValue[] } | undefined {
    return this.#database.transaction(() => {
      const row = this.#sql.storeById.get(storeId) as StoreRow | undefined;
      return row && { store: this.#toRecord(row), items: this.#sql.allItems.all(storeId) as KeyValue[] };
    });
  }

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

  // ---------------------------------------------------------------- internals

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
    const { change, itemCount, totalSizeInBytes } = this.#database.write(() => {
      const store = this.#requireDataStore(storeId);
      const etagFrom = dataEtag(store.id, store.version);
      if (ifMatch !== etagFrom && !(plan.ifMatchOptional && ifMatch === undefined)) {
        throw ifMatchConflict(storeId, ifMatch);
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
    });
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
    // Inside the node database's atomically() block (a release), the change is announced at that block's commit.
    this.#database.afterCommit(() => this.#dispatch(notification));
  }

  #dispatch(notification: Notification): void {
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
    return storeRecord({
      id: row.id,
      name: row.name,
      arn: storeArn(this.accountId, row.id),
      comment: row.comment,
      status: row.status,
      failureReason: row.failure_reason ?? undefined,
      created: new Date(row.created_ms),
      lastModified: new Date(row.last_modified_ms),
      metadataEtag: metadataEtag(row.id, row.metadata_version),
      version: row.version,
      itemCount: row.item_count,
      totalSizeInBytes: row.total_bytes,
    });
  }
}

function prepareStatements(database: SqliteNodeDatabase) {
  const db = database.connection;
  return {
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
