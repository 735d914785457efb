/**
 * The KeyValueStore's records and the contracts around them: what a store is, what a write changes, and the feed
 * the in-memory replicas follow ({@link StoreChangeFeed}, implemented by the SQLite backend's stores).
 */
import type { KvsSnapshotSource } from './snapshot.js';

export type StoreStatus = 'PROVISIONING' | 'READY' | 'IMPORT_FAILURE';

export interface StoreRecord {
  id: string;
  name: string;
  arn: string;
  comment: string;
  status: StoreStatus;
  failureReason?: string;
  created: Date;
  /** Last change to metadata or data. */
  lastModified: Date;
  /** Control-plane ETag: version of the store resource metadata (e.g. "ETV…"). */
  metadataEtag: string;
  /** Data version: the change-log sequence number of the last committed write (0 for an empty new store). */
  version: number;
  /** Data-plane ETag derived from `version` ("KV" + 13 upper-case alphanumerics). */
  etag: string;
  itemCount: number;
  totalSizeInBytes: number;
  /** perms (issue 15): who answers for the store (default: the access key that created it) and its labels. */
  owner?: string;
  labels?: Record<string, string>;
}

export interface KeyValue {
  key: string;
  value: string;
}

/** Who is making a change, recorded in the audit log. */
export interface Actor {
  /** Access key id, or "local" for CLI/dev writes made without keys, or "config" for seeding at start. */
  accessKeyId: string;
}

export interface WriteResult {
  etag: string;
  version: number;
  itemCount: number;
  totalSizeInBytes: number;
}

export interface ListKeysPage {
  items: KeyValue[];
  nextToken?: string;
}

export interface ChangeRecord {
  storeId: string;
  version: number;
  puts: KeyValue[];
  deletes: string[];
  /** True when this change replaced the whole store (bulk import in replace mode): apply by clearing first. */
  replace: boolean;
  at: Date;
}

export interface AccessKeyRecord {
  accessKeyId: string;
  created: Date;
  revoked?: Date;
  description?: string;
  /** perms (issue 15): the permissions the key holds (`kvs:write:redirects-*`); undefined = an admin key. */
  policy?: string[];
}

/** Limits in force. `DEFAULT_LIMITS` match CloudFront; `UNLIMITED_LIMITS` is the documented opt-out. */
export interface KvsLimits {
  maxKeyBytes: number;
  maxValueBytes: number;
  maxStoreBytes: number;
  maxKeysPerUpdate: number;
  maxUpdatePayloadBytes: number;
  maxListResults: number;
  defaultListResults: number;
  maxStoresPerAccount: number;
  maxFunctionsPerStore: number;
  maxImportFileBytes: number;
}

/** Called after every committed data change, in version order, in the same process (single-node propagation). */
export type ChangeListener = (change: ChangeRecord) => void;

/**
 * What the replicas of one process (`replica.ts`) follow: a store loaded whole, then its changes after the commit in
 * version order, or read back from the change log when another process wrote them.
 */
export interface StoreChangeFeed {
  getStore(ref: { id: string }): StoreRecord | undefined;
  /** The store and every item, read in one transaction (the items are those of `store.version`); undefined when unknown. */
  loadStore(storeId: string): { store: StoreRecord; items: KeyValue[] } | undefined;
  /** Committed changes after `afterVersion`, oldest first; a first record beyond `afterVersion + 1` means "reload". */
  changesSince(storeId: string, afterVersion: number): ChangeRecord[];
  /** Returns an unsubscribe function. */
  onChange(listener: ChangeListener): () => void;
  onStoreDeleted(listener: (storeId: string) => void): () => void;
}

export interface ReplicaSource extends KvsSnapshotSource {
  readonly storeId: string;
  /** Version of the data the replica serves now. */
  readonly version: number;
}
