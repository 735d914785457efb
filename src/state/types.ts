/**
 * The state of an OpenFront node, as the control plane sees it: stores (metadata and data), functions (versions and
 * stages), access keys and the audit log. Every method is async because a backend may live across the network (the
 * JetStream backend of a fleet); the embedded SQLite backend answers with promises it has already settled.
 *
 * Errors are the catalog's (`src/errors.ts`), the same for every backend: the conformance suite
 * (test/conformance/state-*.test.ts) runs one set of cases against each one.
 */
import type { AuditQuery, AuditRecord, NewAuditRecord } from '../observe/audit.js';
import type { HistoryPage, HistoryQuery, HistoryRetention, ItemsAt } from '../kvs/history.js';
import type { AccessKeyRecord, Actor, KeyValue, KvsLimits, ListKeysPage, StoreRecord, WriteResult } from '../kvs/types.js';
import type { ParsedValueSchema, StoredValueSchema } from '../kvs/value-schema.js';
import type { RuntimeVersion } from '../runtime/event.js';
import type { FunctionConfigInput, FunctionStage, FunctionStageView, FunctionVersion, LiveChangeListener, LiveVersion } from './functions.js';
import type { Ownership, OwnershipChange } from './ownership.js';
import type { NewRelease, ReleaseRecord } from './releases.js';

/** How a store is named in a request: by name (control plane), id, or ARN (data plane). */
export type StoreRef = { name: string } | { id: string } | { arn: string };

/** One item as GetKey answers it, with the store's size. */
export interface KeyItem {
  key: string;
  value: string;
  itemCount: number;
  totalSizeInBytes: number;
}

/** KeyValueStores: the CloudFront control plane (metadata) and the cloudfront-keyvaluestore data plane. */
export interface StoreState {
  /** The 12-digit account of the ARNs this backend hands out. */
  readonly accountId: string;
  readonly limits: KvsLimits;

  /**
   * `id` keeps the id the store has in AWS; `importItems` fills it in the same write; `schema` is its value schema
   * from the start (the import items are checked against it first).
   */
  createStore(input: { name: string; comment?: string; importItems?: KeyValue[]; id?: string; schema?: ParsedValueSchema }, actor: Actor): Promise<StoreRecord>;
  getStore(ref: StoreRef): Promise<StoreRecord | undefined>;
  listStores(options?: { marker?: string; maxItems?: number; status?: string }): Promise<{ items: StoreRecord[]; nextMarker?: string }>;
  /** `ifMatch` is the metadata ETag. */
  updateStoreComment(name: string, comment: string, ifMatch: string | undefined, actor: Actor): Promise<StoreRecord>;
  deleteStore(name: string, ifMatch: string | undefined, actor: Actor): Promise<void>;

  getKey(storeId: string, key: string): Promise<KeyItem>;
  /** Keys in UTF-8 byte order; `nextToken` is opaque. */
  listKeys(storeId: string, options?: { maxResults?: number; nextToken?: string }): Promise<ListKeysPage>;
  /** Data writes: `ifMatch` is the data ETag; a stale one is KVS_CONFLICT and changes nothing. */
  putKey(storeId: string, key: string, value: string, ifMatch: string | undefined, actor: Actor): Promise<WriteResult>;
  deleteKey(storeId: string, key: string, ifMatch: string | undefined, actor: Actor): Promise<WriteResult>;
  /** All of the batch or none of it. */
  updateKeys(storeId: string, change: { puts?: KeyValue[]; deletes?: string[] }, ifMatch: string | undefined, actor: Actor): Promise<WriteResult>;
  /** Bulk import (not limited to 50 keys); If-Match optional. */
  importData(storeId: string, items: KeyValue[], options: { mode: 'replace' | 'merge'; ifMatch?: string }, actor: Actor): Promise<WriteResult>;
  /** Every item, in UTF-8 byte order of keys. */
  exportData(storeId: string): Promise<KeyValue[]>;

  // --- history (issue 15 point 1, docs/safe-changes.md "History and rollback"): every data write is a version kept
  // under `historyRetention`, independent of the audit log.
  readonly historyRetention: HistoryRetention;
  /** One row per key changed, newest version first; `query` bounds are checked (BAD_REQUEST). */
  history(storeId: string, query: HistoryQuery): Promise<HistoryPage>;
  /** The store as of `version` (KVS_VERSION_EXPIRED before what history keeps, KVS_VERSION_NOT_FOUND after now). */
  itemsAt(storeId: string, version: number): Promise<ItemsAt>;
  /** ONE new write (audited as `Rollback`) that makes the store equal to `toVersion`; `ifMatch` (data ETag) required. */
  rollback(storeId: string, toVersion: number, ifMatch: string | undefined, actor: Actor): Promise<WriteResult>;
  /** Drops the entries the retention allows now (writes also do it); returns how many went. */
  compactHistory(storeId: string): Promise<number>;
  // --- value schemas (docs/safe-changes.md, "Value schemas"): every data write above checks its puts against the
  // store's schema before anything is written (KVS_SCHEMA_VIOLATION).
  /** The store's value schema; undefined when it has none. KVS_NOT_FOUND for an unknown store. */
  getSchema(storeId: string): Promise<StoredValueSchema | undefined>;
  /**
   * Sets (or with `undefined` removes) the store's value schema, audited. Values already stored that fail the new
   * schema refuse it (KVS_SCHEMA_NONCONFORMING) unless `force`. `ifMatch` is the current schema's ETag ("none" when
   * the store has none); a different one is CF_PRECONDITION_FAILED.
   */
  setSchema(
    storeId: string,
    schema: ParsedValueSchema | undefined,
    actor: Actor,
    options?: { force?: boolean; ifMatch?: string },
  ): Promise<StoredValueSchema | undefined>;
  // perms (issue 15): owner and labels, also on every StoreRecord. Audited (`SetOwnership`); the ETags do not change.
  /** Fields given replace the stored ones (`labels` as a whole); an unknown store is KVS_NOT_FOUND. */
  setOwnership(name: string, change: OwnershipChange, actor: Actor): Promise<StoreRecord>;
}

/** The function registry: immutable versions, DEVELOPMENT and LIVE stages, optimistic concurrency on stage ETags. */
export interface FunctionState {
  readonly accountId: string;
  functionArn(name: string): string;
  /** Whether the edge configuration uses a function (DeleteFunction then fails with FunctionInUse; status DEPLOYED). */
  setFunctionInUseCheck(check: (name: string) => boolean): void;
  /** Throws what create/update would throw for this code, writing nothing (a config reload's pre-flight). */
  checkCode(name: string, code: string, runtime: RuntimeVersion): void;

  create(input: { name: string; config: FunctionConfigInput; code: string }, actor: Actor): Promise<FunctionStageView>;
  /** A new version from `code` and the whole `config`; `ifMatch` is the DEVELOPMENT ETag. */
  update(name: string, input: { config: FunctionConfigInput; code: string }, ifMatch: string | undefined, actor: Actor): Promise<FunctionStageView>;
  /** LIVE := DEVELOPMENT's version; `ifMatch` is the DEVELOPMENT ETag. */
  publish(name: string, ifMatch: string | undefined, actor: Actor): Promise<FunctionStageView>;
  /** LIVE := `version`; `ifMatch` is the LIVE ETag. */
  rollback(name: string, version: number, ifMatch: string | undefined, actor: Actor): Promise<FunctionStageView>;
  /** Deletes every version; `ifMatch` is the DEVELOPMENT ETag. */
  delete(name: string, ifMatch: string | undefined, actor: Actor): Promise<void>;

  describe(name: string, stage?: FunctionStage): Promise<FunctionStageView>;
  /** Like describe, but undefined when the function exists without that stage (LIVE before a publish). */
  findStage(name: string, stage: FunctionStage): Promise<FunctionStageView | undefined>;
  getCode(name: string, stage?: FunctionStage): Promise<{ code: string; view: FunctionStageView }>;
  getCodeIfMatch(name: string, stage: FunctionStage, ifMatch: string | undefined): Promise<{ code: string; view: FunctionStageView }>;
  list(options?: { marker?: string; maxItems?: number; stage?: FunctionStage }): Promise<{ items: FunctionStageView[]; nextMarker?: string }>;
  versions(name: string): Promise<FunctionVersion[]>;
  version(name: string, version: number): Promise<FunctionVersion & { code: string }>;
  /** What LIVE serves; undefined when the function does not exist or was never published. */
  live(name: string): Promise<LiveVersion | undefined>;
  liveNames(): Promise<string[]>;

  // perms (issue 15): owner and labels, also on every FunctionStageView. Audited (`SetOwnership`).
  /** Fields given replace the stored ones (`labels` as a whole); an unknown function is CF_NO_SUCH_FUNCTION. */
  setOwnership(name: string, change: OwnershipChange, actor: Actor): Promise<Ownership>;
}

/** API access keys. Secrets are kept sealed (`kvs/secret-box.ts`) and opened only to check a signature. */
export interface AccessKeyState {
  /** perms (issue 15): `policy` (checked permissions, see control/auth/policy.ts) limits the key; none = admin. */
  create(description: string | undefined, actor?: Actor, policy?: readonly string[]): Promise<{ accessKeyId: string; secretAccessKey: string }>;
  list(): Promise<AccessKeyRecord[]>;
  /** Idempotent for a key already revoked; an unknown id is NOT_FOUND. */
  revoke(accessKeyId: string, actor?: Actor): Promise<void>;
  /** The secret of an active key; undefined when the key is unknown or revoked. */
  secret(accessKeyId: string): Promise<string | undefined>;
  /** perms (issue 15): the policy of an active key (`policy` undefined: admin); undefined when unknown or revoked. */
  lookupPolicy(accessKeyId: string): Promise<{ policy?: readonly string[] } | undefined>;
}

/** The audit log. Backends append their own records with each write; `append` is for writes made elsewhere. */
export interface AuditState {
  append(record: NewAuditRecord): Promise<void>;
  /** Newest first, at most `query.limit` (default 100). */
  list(query?: AuditQuery): Promise<AuditRecord[]>;
}

// --- releases (issue 15 point 5; docs/safe-changes.md#releases) ---
/**
 * Releases: function versions and store changes applied as one. `apply` checks every expected ETag, writes the store
 * changes and moves LIVE in one atomic step, and records what it did; `rollback` restores, as new audited writes,
 * the previous LIVE versions and the values the release changed. A refused apply writes nothing and marks the
 * release `failed`.
 */
export interface ReleaseState {
  create(release: NewRelease, actor: Actor): Promise<ReleaseRecord>;
  get(id: string): Promise<ReleaseRecord | undefined>;
  /** Newest first. */
  list(options?: { limit?: number }): Promise<ReleaseRecord[]>;
  apply(id: string, actor: Actor): Promise<ReleaseRecord>;
  rollback(id: string, actor: Actor): Promise<ReleaseRecord>;
}

/** One backend's whole state. */
export interface NodeState {
  /** "sqlite" or "jetstream", for messages and readiness. */
  readonly backend: string;
  readonly stores: StoreState;
  readonly functions: FunctionState;
  readonly accessKeys: AccessKeyState;
  readonly audit: AuditState;
  /** Releases; absent on a backend that cannot apply them atomically yet (the JetStream fleet: docs/safe-changes.md). */
  readonly releases?: ReleaseState;
  close(): Promise<void>;
}

/**
 * The in-process LIVE feed the SQLite backend gives the edge of the same process (`node/live-functions.ts`): read
 * synchronously, notified after each commit that moves LIVE, in commit order.
 */
export interface LiveFunctionFeed {
  onLiveChange(listener: LiveChangeListener): () => void;
  liveNames(): string[];
  live(name: string): LiveVersion | undefined;
}
