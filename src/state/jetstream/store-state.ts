/**
 * Stores in JetStream (docs/fleet.md): metadata in the KV bucket `of_stores` (key = store name, value
 * `{id,name,arn,comment,status,failureReason?,created,lastModified,metadataEtag}`, updated conditionally on its KV
 * revision), data in the store's own bucket `ofkv_<id>` through the store-data writer (`kv-data/`): the version is
 * the stream's last sequence, If-Match becomes the expected last sequence, batches go through the journal.
 *
 * Metadata and data are two writes: a store is created metadata first (an empty store has version 0, its bucket is
 * made on first use) and deleted metadata first, then its bucket.
 */
import { randomUUID } from 'node:crypto';
import { isOpenFrontError, openFrontError } from '../../errors.js';
import { dataEtag, metadataEtag } from '../../kvs/etag.js';
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
import type { AuditChange } from '../../observe/audit.js';
import {
  itemsAtVersion,
  pageOfEntries,
  type HistoryEntry,
  type HistoryPage,
  type HistoryQuery,
  type HistoryRetention,
  type ItemsAt,
} from '../../kvs/history.js';
import { storeRecord } from '../../kvs/store-record.js';
import type { Actor, KeyValue, KvsLimits, ListKeysPage, StoreRecord, StoreStatus, WriteResult } from '../../kvs/types.js';
import { assertValidKey, assertValidValue, KeyValueBatch, quoteKey, validateUpdate } from '../../kvs/validate.js';
import { assertStoreConforms, assertValuesMatchSchema, storedValueSchema, type ParsedValueSchema, type StoredValueSchema } from '../../kvs/value-schema.js';
import type { AuditState, KeyItem, StoreRef, StoreState } from '../types.js';
import { HistoryStream } from './history-stream.js';
import { applyOwnershipChange, type Ownership, type OwnershipChange } from '../ownership.js';
import { deleteIfAt, listKeys, readJson, STORES_BUCKET, writeJson, type Buckets, type JetStreamContext, type Revisioned } from './buckets.js';

/** The value of `of_stores/<name>`. */
export interface StoreMetadataJson {
  id: string;
  name: string;
  arn: string;
  comment: string;
  status: StoreStatus;
  failureReason?: string;
  created: string;
  lastModified: string;
  metadataEtag: string;
  /** Counts metadata changes; feeds `metadataEtag`. */
  metadataVersion: number;
  /** The value schema (kvs/value-schema.ts); setting it does not change `metadataEtag` (not CloudFront metadata). */
  valueSchema?: { document: string; updated: string; updatedBy: string };
  /** perms (issue 15): owner (the creating key by default) and labels; not part of the metadata ETag. */
  owner?: string;
  labels?: Record<string, string>;
}

/** What a data write answers (the writer's result). */
export interface StoreDataWrite {
  version: number;
  etag: string;
  itemCount: number;
  totalSizeInBytes: number;
  changes: AuditChange[];
  /** The version the write was applied on (its `before` values are that version's); history chains entries by it. */
  previousVersion?: number;
}

/** One store's data in its stream: the store-data writer of `kv-data/` (or anything with its shape). */
export interface StoreData {
  put(key: string, value: string, options: { expectedVersion?: number; actor: string }): Promise<StoreDataWrite>;
  delete(key: string, options: { expectedVersion?: number; actor: string }): Promise<StoreDataWrite>;
  update(change: { puts?: KeyValue[]; deletes?: string[] }, options: { expectedVersion?: number; actor: string }): Promise<StoreDataWrite>;
  replaceAll(items: KeyValue[], options: { expectedVersion?: number; actor: string }): Promise<StoreDataWrite>;
  get(key: string): Promise<string | undefined>;
  list(options: { after?: string; limit: number }): Promise<{ items: KeyValue[]; version: number }>;
  all(): Promise<{ items: KeyValue[]; version: number }>;
  status(): Promise<{ version: number; etag: string; itemCount: number; totalSizeInBytes: number }>;
  destroy(): Promise<void>;
}

export type OpenStoreData = (storeId: string, options: { replicas: number; maxStoreBytes: number }) => Promise<StoreData>;

const DEFAULT_LIST_STORES = 100;
/** Reads as of a version look this many times for the entry of a write another process has just made. */
const HISTORY_READ_ATTEMPTS = 5;
/** Attempts of an ownership change racing other metadata writes of the same store. */
const MAX_OWNERSHIP_ATTEMPTS = 5;

export class JetStreamStoreState implements StoreState {
  readonly accountId: string;
  readonly limits: KvsLimits;
  readonly #ctx: JetStreamContext;
  readonly #buckets: Buckets;
  readonly #audit: AuditState;
  readonly #openData: OpenStoreData;
  readonly #data = new Map<string, Promise<StoreData>>();
  /** Store id → name, learnt from reads; always confirmed against the metadata before use. */
  readonly #names = new Map<string, string>();
  #storeInUse: (storeId: string) => Promise<boolean> = async () => false;
  readonly #history: HistoryStream;
  /** History appends of this process still in flight, per store: reads of history wait for them. */
  readonly #historyPending = new Map<string, Promise<unknown>>();

  constructor(
    ctx: JetStreamContext,
    buckets: Buckets,
    audit: AuditState,
    options: { accountId: string; limits: KvsLimits; openData: OpenStoreData; history: HistoryRetention },
  ) {
    this.#history = new HistoryStream(ctx, options.history);
    this.#ctx = ctx;
    this.#buckets = buckets;
    this.#audit = audit;
    this.accountId = options.accountId;
    this.limits = options.limits;
    this.#openData = options.openData;
  }

  /** The function registry tells how to ask "is this store associated with a function?". */
  setStoreInUseCheck(check: (storeId: string) => Promise<boolean>): void {
    this.#storeInUse = check;
  }

  // ---------------------------------------------------------------- control plane

  async createStore(
    input: { name: string; comment?: string; importItems?: KeyValue[]; id?: string; schema?: ParsedValueSchema },
    actor: Actor,
  ): Promise<StoreRecord> {
    const comment = input.comment ?? '';
    assertStoreName(input.name);
    assertComment(comment);
    if (input.id !== undefined) assertStoreId(input.id);
    let imported: KeyValueBatch | undefined;
    if (input.importItems !== undefined) {
      imported = new KeyValueBatch(this.limits, { code: 'CF_INVALID_ARGUMENT', label: 'import item' });
      for (const [index, item] of input.importItems.entries()) imported.add(item, index);
      if (imported.totalBytes > this.limits.maxStoreBytes) {
        throw openFrontError(
          'CF_ENTITY_SIZE_LIMIT_EXCEEDED',
          `Datasource size exceeds the allowed limit (${imported.totalBytes} bytes; the limit is ${this.limits.maxStoreBytes} bytes)`,
        );
      }
    }
    const kv = await this.#buckets.get(STORES_BUCKET);
    const names = await listKeys(this.#ctx.conn, kv);
    if (names.includes(input.name)) throw nameTaken(input.name);
    if (names.length >= this.limits.maxStoresPerAccount) {
      throw openFrontError(
        'CF_ENTITY_LIMIT_EXCEEDED',
        `The account already has ${names.length} KeyValueStores; the limit is ${this.limits.maxStoresPerAccount}`,
      );
    }
    const id = input.id?.toLowerCase() ?? randomUUID();
    if (imported) assertValuesMatchSchema(id, input.name, input.schema, imported.items);
    if (input.id !== undefined && (await this.#findById(id)) !== undefined) {
      throw openFrontError('CF_ENTITY_ALREADY_EXISTS', `A KeyValueStore with id ${id} already exists`, { id });
    }
    const at = this.#ctx.now().toISOString();
    const meta: StoreMetadataJson = {
      id,
      name: input.name,
      arn: storeArn(this.accountId, id),
      comment,
      status: 'READY',
      created: at,
      lastModified: at,
      metadataEtag: metadataEtag(id, 1),
      metadataVersion: 1,
      ...(input.schema ? { valueSchema: { document: input.schema.text, updated: at, updatedBy: actor.accessKeyId } } : {}),
      owner: actor.accessKeyId,
    };
    if ((await writeJson(this.#ctx.conn, kv, input.name, meta, undefined)) === undefined) throw nameTaken(input.name);
    this.#names.set(id, input.name);
    const data = await this.#dataOf(id);
    const items = imported?.items ?? [];
    const written = imported === undefined ? await data.status() : await data.replaceAll(items, { actor: actor.accessKeyId });
    if (imported !== undefined) {
      const changes = items.map((item) => ({ key: item.key, before: null, after: item.value }));
      await this.#appendHistory(id, {
        version: written.version,
        prevVersion: 0,
        at: this.#ctx.now(),
        accessKeyId: actor.accessKeyId,
        operation: 'CreateKeyValueStore',
        changes,
      });
    }
    await this.#audit.append({
      accessKeyId: actor.accessKeyId,
      operation: 'CreateKeyValueStore',
      storeId: id,
      storeName: input.name,
      keys: items.map((item) => item.key),
      changes: items.map((item) => ({ key: item.key, before: null, after: item.value })),
      etagTo: meta.metadataEtag,
      detail: {
        comment,
        version: written.version,
        dataEtag: written.etag,
        imported: imported !== undefined,
        ...(input.schema ? { valueSchemaEtag: input.schema.etag } : {}),
      },
    });
    return toRecord(meta, written);
  }

  async getStore(ref: StoreRef): Promise<StoreRecord | undefined> {
    const found = await this.#findStore(ref);
    return found && this.#withData(found.value);
  }

  async listStores(options: { marker?: string; maxItems?: number; status?: string } = {}): Promise<{ items: StoreRecord[]; nextMarker?: string }> {
    const maxItems = options.maxItems ?? DEFAULT_LIST_STORES;
    if (!Number.isInteger(maxItems) || maxItems < 1) throw openFrontError('CF_INVALID_ARGUMENT', `MaxItems must be a positive integer, got ${maxItems}`);
    const kv = await this.#buckets.get(STORES_BUCKET);
    const marker = options.marker ?? '';
    const page: StoreRecord[] = [];
    let more = false;
    for (const name of (await listKeys(this.#ctx.conn, kv)).filter((n) => n > marker).sort()) {
      const found = await readJson<StoreMetadataJson>(this.#ctx.conn, kv, name);
      if (found === undefined || (options.status !== undefined && found.value.status !== options.status)) continue;
      if (page.length === maxItems) {
        more = true;
        break;
      }
      page.push(await this.#withData(found.value));
    }
    return more ? { items: page, nextMarker: page[page.length - 1].name } : { items: page };
  }

  async updateStoreComment(name: string, comment: string, ifMatch: string | undefined, actor: Actor): Promise<StoreRecord> {
    assertComment(comment);
    const found = await this.#requireControlStore(name, ifMatch);
    const before = found.value;
    const metadataVersion = before.metadataVersion + 1;
    const next: StoreMetadataJson = {
      ...before,
      comment,
      metadataVersion,
      metadataEtag: metadataEtag(before.id, metadataVersion),
      lastModified: this.#ctx.now().toISOString(),
    };
    const kv = await this.#buckets.get(STORES_BUCKET);
    if ((await writeJson(this.#ctx.conn, kv, name, next, found.revision)) === undefined) throw staleMetadata(name, ifMatch!);
    await this.#audit.append({
      accessKeyId: actor.accessKeyId,
      operation: 'UpdateKeyValueStore',
      storeId: before.id,
      storeName: name,
      keys: [],
      changes: [],
      etagFrom: before.metadataEtag,
      etagTo: next.metadataEtag,
      detail: { commentBefore: before.comment, commentAfter: comment },
    });
    return this.#withData(next);
  }

  /** Owner and labels from the metadata alone (no data read): for audit records. Undefined for no such store. */
  async ownershipOf(name: string): Promise<Ownership | undefined> {
    const found = await this.#findStore({ name });
    return found && { owner: found.value.owner, labels: found.value.labels };
  }

  async setOwnership(name: string, change: OwnershipChange, actor: Actor): Promise<StoreRecord> {
    const kv = await this.#buckets.get(STORES_BUCKET);
    for (let attempt = 1; attempt <= MAX_OWNERSHIP_ATTEMPTS; attempt++) {
      const found = await this.#findStore({ name });
      if (found === undefined) throw openFrontError('KVS_NOT_FOUND', `The key value store ${name} was not found`, { name });
      const before = found.value;
      const after = applyOwnershipChange({ owner: before.owner, labels: before.labels }, change);
      const { owner: _owner, labels: _labels, ...rest } = before;
      const next: StoreMetadataJson = { ...rest, ...after };
      // Conditional on the revision read: a concurrent comment or ownership change makes this one read again.
      if ((await writeJson(this.#ctx.conn, kv, name, next, found.revision)) === undefined) continue;
      await this.#audit.append({
        accessKeyId: actor.accessKeyId,
        operation: 'SetOwnership',
        storeId: before.id,
        storeName: name,
        keys: [],
        changes: [],
        detail: { ownerBefore: before.owner ?? null, ownerAfter: after.owner ?? null, labelsBefore: before.labels ?? {}, labelsAfter: after.labels ?? {} },
      });
      return this.#withData(next);
    }
    throw openFrontError('CF_PRECONDITION_FAILED', `KeyValueStore ${name} kept changing while its ownership was being set; retry`, { name });
  }

  async deleteStore(name: string, ifMatch: string | undefined, actor: Actor): Promise<void> {
    const found = await this.#requireControlStore(name, ifMatch);
    const meta = found.value;
    if (await this.#storeInUse(meta.id)) throw openFrontError('CF_IN_USE', `KeyValueStore ${name} is associated with a function`, { name });
    const status = await (await this.#dataOf(meta.id)).status();
    const kv = await this.#buckets.get(STORES_BUCKET);
    if (!(await deleteIfAt(this.#ctx.conn, kv, name, found.revision))) throw staleMetadata(name, ifMatch!);
    this.#names.delete(meta.id);
    const data = await this.#dataOf(meta.id);
    this.#data.delete(meta.id);
    await data.destroy();
    await this.#history.purge(meta.id);
    await this.#audit.append({
      accessKeyId: actor.accessKeyId,
      operation: 'DeleteKeyValueStore',
      storeId: meta.id,
      storeName: name,
      keys: [],
      changes: [],
      etagFrom: meta.metadataEtag,
      detail: { version: status.version, itemCount: status.itemCount, totalSizeInBytes: status.totalSizeInBytes },
    });
  }

  // ---------------------------------------------------------------- data plane

  async getKey(storeId: string, key: string): Promise<KeyItem> {
    assertValidKey(key, this.limits);
    const data = await this.#requireData(storeId);
    const value = await data.get(key);
    if (value === undefined) throw openFrontError('KVS_NOT_FOUND', `Key ${quoteKey(key)} was not found`, { key });
    const status = await data.status();
    return { key, value, itemCount: status.itemCount, totalSizeInBytes: status.totalSizeInBytes };
  }

  async listKeys(storeId: string, options: { maxResults?: number; nextToken?: string } = {}): Promise<ListKeysPage> {
    const maxResults = options.maxResults ?? this.limits.defaultListResults;
    if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > this.limits.maxListResults) {
      throw openFrontError('KVS_VALIDATION', `MaxResults must be between 1 and ${this.limits.maxListResults}, got ${maxResults}`);
    }
    const after = options.nextToken === undefined ? undefined : decodeNextToken(options.nextToken);
    const data = await this.#requireData(storeId);
    const { items: rows } = await data.list({ after, limit: maxResults + 1 });
    const items = rows.slice(0, maxResults);
    return rows.length > maxResults ? { items, nextToken: encodeNextToken(items[items.length - 1].key) } : { items };
  }

  async putKey(storeId: string, key: string, value: string, ifMatch: string | undefined, actor: Actor): Promise<WriteResult> {
    assertValidKey(key, this.limits);
    assertValidValue(key, value, this.limits);
    return this.#write(storeId, 'PutKey', ifMatch, false, actor, [{ key, value }], (data, options) => data.put(key, value, options));
  }

  async deleteKey(storeId: string, key: string, ifMatch: string | undefined, actor: Actor): Promise<WriteResult> {
    assertValidKey(key, this.limits);
    return this.#write(storeId, 'DeleteKey', ifMatch, false, actor, [], (data, options) => data.delete(key, options));
  }

  async updateKeys(storeId: string, change: { puts?: KeyValue[]; deletes?: string[] }, ifMatch: string | undefined, actor: Actor): Promise<WriteResult> {
    const { puts, deletes } = validateUpdate(change, this.limits);
    return this.#write(storeId, 'UpdateKeys', ifMatch, false, actor, puts, (data, options) => data.update({ puts, deletes }, options));
  }

  async importData(storeId: string, items: KeyValue[], options: { mode: 'replace' | 'merge'; ifMatch?: string }, actor: Actor): Promise<WriteResult> {
    const batch = new KeyValueBatch(this.limits, { label: 'import item' });
    for (const [index, item] of items.entries()) batch.add(item, index);
    const replace = options.mode === 'replace';
    return this.#write(
      storeId,
      'ImportKeys',
      options.ifMatch,
      true,
      actor,
      batch.items,
      (data, writeOptions) => (replace ? data.replaceAll(batch.items, writeOptions) : data.update({ puts: batch.items }, writeOptions)),
      { mode: options.mode, itemCount: batch.size },
      replace,
    );
  }

  async exportData(storeId: string): Promise<KeyValue[]> {
    return (await (await this.#requireData(storeId)).all()).items;
  }

  // ---------------------------------------------------------------- history (history-stream.ts)

  get historyRetention(): HistoryRetention {
    return this.#history.retention;
  }

  async history(storeId: string, query: HistoryQuery): Promise<HistoryPage> {
    await this.#requireMeta(storeId);
    pageOfEntries([], query); // the query's bounds, before any read
    await this.#historyPending.get(storeId);
    return pageOfEntries(await this.#history.entries(storeId), query);
  }

  async itemsAt(storeId: string, version: number): Promise<ItemsAt> {
    const data = await this.#requireData(storeId);
    // Another control process appends its entry just after its data write: a read that finds the newest write's
    // entry missing looks again a few times before it reports a gap.
    for (let attempt = 1; ; attempt++) {
      await this.#historyPending.get(storeId);
      const current = await data.all();
      const entries =
        version < current.version ? (await this.#history.entries(storeId)).filter((e) => e.version > version && e.version <= current.version) : [];
      const missingNewest = version < current.version && entries[0]?.version !== current.version;
      if (!missingNewest || attempt >= HISTORY_READ_ATTEMPTS) return itemsAtVersion(storeId, current, version, entries);
      await new Promise((resolve) => setTimeout(resolve, 20 * attempt));
    }
  }

  async rollback(storeId: string, toVersion: number, ifMatch: string | undefined, actor: Actor): Promise<WriteResult> {
    const target = await this.itemsAt(storeId, toVersion);
    if (ifMatch === undefined || ifMatch !== dataEtag(storeId, target.currentVersion)) {
      throw ifMatchConflict(storeId, ifMatch);
    }
    // The write publishes at exactly the version the target was computed on: a write in between makes it a conflict.
    return this.#write(
      storeId,
      'Rollback',
      ifMatch,
      false,
      actor,
      target.items,
      (data, options) => data.replaceAll(target.items, options),
      { toVersion, itemCount: target.items.length },
      true,
    );
  }

  async compactHistory(storeId: string): Promise<number> {
    await this.#requireMeta(storeId);
    return this.#history.compact(storeId);
  }

  #appendHistory(storeId: string, entry: HistoryEntry): Promise<void> {
    const previous = this.#historyPending.get(storeId) ?? Promise.resolve();
    const appended = previous.catch(() => undefined).then(() => this.#history.append(storeId, entry));
    const settled = appended.catch(() => undefined);
    this.#historyPending.set(storeId, settled);
    void settled.then(() => {
      if (this.#historyPending.get(storeId) === settled) this.#historyPending.delete(storeId);
    });
    return appended;
  }

  // ---------------------------------------------------------------- value schemas

  async getSchema(storeId: string): Promise<StoredValueSchema | undefined> {
    return schemaOf(await this.#requireMeta(storeId));
  }

  /**
   * The schema goes into the store's metadata, conditional on its revision; the data is checked before and, when a
   * write landed meanwhile (the data version moved), again after — a failure then puts the old schema back.
   */
  async setSchema(
    storeId: string,
    schema: ParsedValueSchema | undefined,
    actor: Actor,
    options: { force?: boolean; ifMatch?: string } = {},
  ): Promise<StoredValueSchema | undefined> {
    const found = await this.#findById(storeId);
    if (found === undefined) throw openFrontError('KVS_NOT_FOUND', `KeyValueStore ${storeId} was not found`, { storeId });
    const meta = found.value;
    const before = schemaOf(meta);
    const current = before?.etag ?? 'none';
    if (options.ifMatch !== undefined && options.ifMatch !== current) {
      throw openFrontError('CF_PRECONDITION_FAILED', `The If-Match ${options.ifMatch} is not the current value schema of store ${meta.name} (${current})`, {
        storeId,
      });
    }
    const data = await this.#dataOf(storeId);
    const conforms = async (): Promise<{ version: number; nonconforming: number }> => {
      const all = await data.all();
      if (schema === undefined) return { version: all.version, nonconforming: 0 };
      try {
        assertStoreConforms(storeId, meta.name, schema, all.items);
        return { version: all.version, nonconforming: 0 };
      } catch (err) {
        if (!options.force || !isOpenFrontError(err) || err.code !== 'KVS_SCHEMA_NONCONFORMING') throw err;
        return { version: all.version, nonconforming: err.details.count as number };
      }
    };
    const checked = await conforms();
    const next: StoreMetadataJson = { ...meta };
    if (schema === undefined) delete next.valueSchema;
    else next.valueSchema = { document: schema.text, updated: this.#ctx.now().toISOString(), updatedBy: actor.accessKeyId };
    const kv = await this.#buckets.get(STORES_BUCKET);
    const revision = await writeJson(this.#ctx.conn, kv, meta.name, next, found.revision);
    if (revision === undefined) {
      throw openFrontError('KVS_CONFLICT', `The metadata of store ${meta.name} changed while its value schema was set; retry`, { storeId });
    }
    if ((await data.status()).version !== checked.version) {
      try {
        await conforms();
      } catch (err) {
        await writeJson(this.#ctx.conn, kv, meta.name, meta, revision);
        throw err;
      }
    }
    await this.#audit.append({
      accessKeyId: actor.accessKeyId,
      operation: schema === undefined ? 'DeleteValueSchema' : 'PutValueSchema',
      storeId,
      storeName: meta.name,
      keys: [],
      changes: [],
      detail: {
        etagFrom: before?.etag ?? null,
        etagTo: schema?.etag ?? null,
        ...(schema ? { document: schema.document } : {}),
        ...(options.force ? { force: true, nonconforming: checked.nonconforming } : {}),
      },
    });
    return schemaOf(next);
  }

  // ---------------------------------------------------------------- internals

  /**
   * Every data write: the store must exist; If-Match must name its current version (or be absent where optional);
   * the writer then publishes at exactly that version, so a racing writer that got there first makes this one a
   * KVS_CONFLICT with nothing written.
   */
  async #write(
    storeId: string,
    operation: string,
    ifMatch: string | undefined,
    ifMatchOptional: boolean,
    actor: Actor,
    puts: readonly KeyValue[],
    apply: (data: StoreData, options: { expectedVersion?: number; actor: string }) => Promise<StoreDataWrite>,
    detail: Record<string, unknown> = {},
    onlyChanged = false,
  ): Promise<WriteResult> {
    const meta = await this.#requireMeta(storeId);
    assertValuesMatchSchema(storeId, meta.name, schemaOf(meta), puts);
    const data = await this.#dataOf(storeId);
    let expectedVersion: number | undefined;
    if (!(ifMatchOptional && ifMatch === undefined)) {
      const status = await data.status();
      if (ifMatch !== status.etag) {
        throw ifMatchConflict(storeId, ifMatch);
      }
      expectedVersion = status.version;
    }
    let written: StoreDataWrite;
    try {
      written = await apply(data, { expectedVersion, actor: actor.accessKeyId });
    } catch (err) {
      // The writer's conflict names versions; the API's names the ETag the caller sent, as SQLite's does.
      if (isOpenFrontError(err) && err.code === 'KVS_CONFLICT' && ifMatch !== undefined) {
        throw ifMatchConflict(storeId, ifMatch);
      }
      throw err;
    }
    const changes = onlyChanged ? written.changes.filter((c) => c.before !== c.after) : written.changes;
    // Without the base version the entry chains to nothing (prevVersion = version): reads stop there, never guess.
    const prevVersion = written.previousVersion ?? expectedVersion ?? written.version;
    await this.#appendHistory(storeId, { version: written.version, prevVersion, at: this.#ctx.now(), accessKeyId: actor.accessKeyId, operation, changes });
    await this.#audit.append({
      accessKeyId: actor.accessKeyId,
      operation,
      storeId,
      storeName: meta.name,
      keys: changes.map((c) => c.key),
      changes,
      etagFrom: expectedVersion === undefined ? undefined : dataEtag(storeId, expectedVersion),
      etagTo: written.etag,
      detail: { version: written.version, ...detail },
    });
    return { etag: written.etag, version: written.version, itemCount: written.itemCount, totalSizeInBytes: written.totalSizeInBytes };
  }

  #dataOf(storeId: string): Promise<StoreData> {
    let data = this.#data.get(storeId);
    if (data === undefined) {
      data = this.#openData(storeId, { replicas: this.#ctx.replicas, maxStoreBytes: this.limits.maxStoreBytes });
      data.catch(() => this.#data.delete(storeId));
      this.#data.set(storeId, data);
    }
    return data;
  }

  async #requireMeta(storeId: string): Promise<StoreMetadataJson> {
    const found = await this.#findById(storeId);
    if (found === undefined) throw openFrontError('KVS_NOT_FOUND', `KeyValueStore ${storeId} was not found`, { storeId });
    return found.value;
  }

  async #requireData(storeId: string): Promise<StoreData> {
    await this.#requireMeta(storeId);
    return this.#dataOf(storeId);
  }

  async #withData(meta: StoreMetadataJson): Promise<StoreRecord> {
    return toRecord(meta, await (await this.#dataOf(meta.id)).status());
  }

  async #findStore(ref: StoreRef): Promise<Revisioned<StoreMetadataJson> | undefined> {
    if ('name' in ref) {
      if (!STORE_NAME_KEY.test(ref.name)) return undefined;
      return readJson<StoreMetadataJson>(this.#ctx.conn, await this.#buckets.get(STORES_BUCKET), ref.name);
    }
    if ('id' in ref) return this.#findById(ref.id.toLowerCase());
    const parsed = parseStoreArn(ref.arn);
    if (parsed === undefined || parsed.accountId !== this.accountId) return undefined;
    return this.#findById(parsed.id);
  }

  /** By id: the name learnt before (checked), else a scan of the metadata, which also refreshes what is learnt. */
  async #findById(id: string): Promise<Revisioned<StoreMetadataJson> | undefined> {
    const kv = await this.#buckets.get(STORES_BUCKET);
    const known = this.#names.get(id);
    if (known !== undefined) {
      const found = await readJson<StoreMetadataJson>(this.#ctx.conn, kv, known);
      if (found?.value.id === id) return found;
      this.#names.delete(id);
    }
    let match: Revisioned<StoreMetadataJson> | undefined;
    for (const name of await listKeys(this.#ctx.conn, kv)) {
      const found = await readJson<StoreMetadataJson>(this.#ctx.conn, kv, name);
      if (found === undefined) continue;
      this.#names.set(found.value.id, name);
      if (found.value.id === id) match = found;
    }
    return match;
  }

  /** Control-plane precondition order: If-Match present (400), store exists (404), If-Match current (412). */
  async #requireControlStore(name: string, ifMatch: string | undefined): Promise<Revisioned<StoreMetadataJson>> {
    if (ifMatch === undefined || ifMatch === '') throw openFrontError('CF_INVALID_IF_MATCH', 'The If-Match header is required');
    const found = await this.#findStore({ name });
    if (found === undefined) throw openFrontError('CF_ENTITY_NOT_FOUND', `KeyValueStore ${name} was not found`, { name });
    if (ifMatch !== found.value.metadataEtag) throw staleMetadata(name, ifMatch);
    return found;
  }
}

function schemaOf(meta: StoreMetadataJson): StoredValueSchema | undefined {
  const stored = meta.valueSchema;
  return stored && storedValueSchema(stored.document, new Date(stored.updated), stored.updatedBy);
}

/** Store names the API accepts are NATS keys as they are; anything else cannot exist. */
const STORE_NAME_KEY = /^[a-zA-Z0-9_-]{1,64}$/;

function toRecord(meta: StoreMetadataJson, data: { version: number; itemCount: number; totalSizeInBytes: number }): StoreRecord {
  return storeRecord({
    ...data,
    id: meta.id,
    name: meta.name,
    arn: meta.arn,
    comment: meta.comment,
    status: meta.status,
    failureReason: meta.failureReason,
    created: new Date(meta.created),
    lastModified: new Date(meta.lastModified),
    metadataEtag: meta.metadataEtag,
    owner: meta.owner,
    labels: meta.labels,
  });
}

function nameTaken(name: string) {
  return openFrontError('CF_ENTITY_ALREADY_EXISTS', `A KeyValueStore named ${name} already exists`, { name });
}

function staleMetadata(name: string, ifMatch: string) {
  return openFrontError('CF_PRECONDITION_FAILED', `The If-Match version ${ifMatch} is not the current version of KeyValueStore ${name}`, { name });
}
