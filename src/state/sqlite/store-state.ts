/**
 * Stores on the embedded SQLite database as the async `StoreState`: the synchronous stores (`stores.ts`: each write,
 * its change record and its audit record commit in one transaction; `onChange` tells the replicas of the same
 * process) with the owner and labels of each store (perms, issue 15: the `perm_store_ownership` table).
 */
import type { HistoryPage, HistoryQuery, HistoryRetention, ItemsAt } from '../../kvs/history.js';
import type { Actor, KeyValue, KvsLimits, ListKeysPage, StoreRecord, WriteResult } from '../../kvs/types.js';
import type { ParsedValueSchema, StoredValueSchema } from '../../kvs/value-schema.js';
import type { KeyItem, StoreRef, StoreState } from '../types.js';
import { openFrontError } from '../../errors.js';
import { applyOwnershipChange, auditOwnershipFields, type OwnershipChange } from '../ownership.js';
import type { SqliteAuditLog } from './audit-log.js';
import type { SqliteNodeDatabase } from './node-database.js';
import { migratePermsTables, OwnershipTable } from './perms-tables.js';
import type { SqliteStores } from './stores.js';

export class SqliteStoreState implements StoreState {
  readonly #database: SqliteNodeDatabase;
  readonly #db: SqliteStores;
  readonly #audit: SqliteAuditLog;
  readonly #ownership: OwnershipTable;

  constructor(database: SqliteNodeDatabase, stores: SqliteStores, audit: SqliteAuditLog) {
    this.#database = database;
    this.#db = stores;
    this.#audit = audit;
    migratePermsTables(database.connection);
    this.#ownership = new OwnershipTable(database.connection, 'store');
    audit.addEnricher((record) => (record.storeId === undefined ? undefined : auditOwnershipFields(record.operation, this.#ownership.get(record.storeId))));
  }

  /** The record with its owner and labels (perms, issue 15). */
  #owned(record: StoreRecord): StoreRecord {
    return { ...record, ...this.#ownership.get(record.id) };
  }

  async setOwnership(name: string, change: OwnershipChange, actor: Actor): Promise<StoreRecord> {
    return this.#database.write(() => {
      const store = this.#db.getStore({ name });
      if (store === undefined) throw openFrontError('KVS_NOT_FOUND', `The key value store ${name} was not found`, { name });
      const before = this.#ownership.get(store.id);
      const after = applyOwnershipChange(before, change);
      this.#ownership.put(store.id, after);
      this.#audit.append({
        accessKeyId: actor.accessKeyId,
        operation: 'SetOwnership',
        storeId: store.id,
        storeName: name,
        keys: [],
        changes: [],
        detail: { ownerBefore: before.owner ?? null, ownerAfter: after.owner ?? null, labelsBefore: before.labels ?? {}, labelsAfter: after.labels ?? {} },
      });
      return { ...store, ...after };
    });
  }

  get accountId(): string {
    return this.#db.accountId;
  }

  get limits(): KvsLimits {
    return this.#db.limits;
  }

  async createStore(
    input: { name: string; comment?: string; importItems?: KeyValue[]; id?: string; schema?: ParsedValueSchema },
    actor: Actor,
  ): Promise<StoreRecord> {
    // One transaction: the store never exists without its owner, the key that created it.
    return this.#database.transaction(() => {
      const record = this.#db.createStore(input, actor);
      this.#ownership.put(record.id, { owner: actor.accessKeyId });
      return { ...record, owner: actor.accessKeyId };
    });
  }

  async getStore(ref: StoreRef): Promise<StoreRecord | undefined> {
    const record = this.#db.getStore(ref);
    return record && this.#owned(record);
  }

  async listStores(options?: { marker?: string; maxItems?: number; status?: string }): Promise<{ items: StoreRecord[]; nextMarker?: string }> {
    const page = this.#db.listStores(options);
    const owned = this.#ownership.all();
    return { ...page, items: page.items.map((record) => ({ ...record, ...owned.get(record.id) })) };
  }

  async updateStoreComment(name: string, comment: string, ifMatch: string | undefined, actor: Actor): Promise<StoreRecord> {
    return this.#owned(this.#db.updateStoreComment(name, comment, ifMatch, actor));
  }

  async deleteStore(name: string, ifMatch: string | undefined, actor: Actor): Promise<void> {
    this.#db.deleteStore(name, ifMatch, actor);
  }

  async getKey(storeId: string, key: string): Promise<KeyItem> {
    return this.#db.getKey(storeId, key);
  }

  async listKeys(storeId: string, options?: { maxResults?: number; nextToken?: string }): Promise<ListKeysPage> {
    return this.#db.listKeys(storeId, options);
  }

  async putKey(storeId: string, key: string, value: string, ifMatch: string | undefined, actor: Actor): Promise<WriteResult> {
    return this.#db.putKey(storeId, key, value, ifMatch, actor);
  }

  async deleteKey(storeId: string, key: string, ifMatch: string | undefined, actor: Actor): Promise<WriteResult> {
    return this.#db.deleteKey(storeId, key, ifMatch, actor);
  }

  async updateKeys(storeId: string, change: { puts?: KeyValue[]; deletes?: string[] }, ifMatch: string | undefined, actor: Actor): Promise<WriteResult> {
    return this.#db.updateKeys(storeId, change, ifMatch, actor);
  }

  async importData(storeId: string, items: KeyValue[], options: { mode: 'replace' | 'merge'; ifMatch?: string }, actor: Actor): Promise<WriteResult> {
    return this.#db.importData(storeId, items, options, actor);
  }

  async exportData(storeId: string): Promise<KeyValue[]> {
    return this.#db.exportData(storeId);
  }

  // --- history: entries live in the database's kvs_history tables (history-log.ts)

  get historyRetention(): HistoryRetention {
    return this.#db.history.retention;
  }

  async history(storeId: string, query: HistoryQuery): Promise<HistoryPage> {
    await this.#requireStore(storeId);
    return this.#db.history.page(storeId, query);
  }

  async itemsAt(storeId: string, version: number): Promise<ItemsAt> {
    return this.#db.itemsAt(storeId, version);
  }

  async rollback(storeId: string, toVersion: number, ifMatch: string | undefined, actor: Actor): Promise<WriteResult> {
    return this.#db.rollback(storeId, toVersion, ifMatch, actor);
  }

  async compactHistory(storeId: string): Promise<number> {
    await this.#requireStore(storeId);
    return this.#db.history.compact(storeId);
  }

  async #requireStore(storeId: string): Promise<void> {
    if (this.#db.getStore({ id: storeId }) === undefined) throw openFrontError('KVS_NOT_FOUND', `KeyValueStore ${storeId} was not found`, { storeId });
  }

  async getSchema(storeId: string): Promise<StoredValueSchema | undefined> {
    return this.#db.getValueSchema(storeId);
  }

  async setSchema(
    storeId: string,
    schema: ParsedValueSchema | undefined,
    actor: Actor,
    options?: { force?: boolean; ifMatch?: string },
  ): Promise<StoredValueSchema | undefined> {
    return this.#db.setValueSchema(storeId, schema, actor, options);
  }
}
