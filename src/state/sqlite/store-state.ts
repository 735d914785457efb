/**
 * Stores on the embedded SQLite database (`kvs/database.ts`): each write, its change record and its audit record
 * commit in one transaction; the in-process change feed (`onChange`) tells the replicas of the same process.
 */
import type { KvsDatabase } from '../../kvs/database.js';
import type { Actor, KeyValue, KvsLimits, ListKeysPage, StoreRecord, WriteResult } from '../../kvs/types.js';
import type { ParsedValueSchema, StoredValueSchema } from '../../kvs/value-schema.js';
import type { KeyItem, StoreRef, StoreState } from '../types.js';

export class SqliteStoreState implements StoreState {
  readonly #db: KvsDatabase;

  constructor(db: KvsDatabase) {
    this.#db = db;
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
    return this.#db.createStore(input, actor);
  }

  async getStore(ref: StoreRef): Promise<StoreRecord | undefined> {
    return this.#db.getStore(ref);
  }

  async listStores(options?: { marker?: string; maxItems?: number; status?: string }): Promise<{ items: StoreRecord[]; nextMarker?: string }> {
    return this.#db.listStores(options);
  }

  async updateStoreComment(name: string, comment: string, ifMatch: string | undefined, actor: Actor): Promise<StoreRecord> {
    return this.#db.updateStoreComment(name, comment, ifMatch, actor);
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
