/**
 * The in-memory replica of one store: what the edge reads. Reads are Map lookups on an immutable snapshot; writes
 * arrive as change records in version order.
 *
 * Copy-on-write keeps snapshots immutable and O(1) to take: a snapshot shares the replica's current Map, and the
 * first change applied after a snapshot was taken copies the Map before mutating it. Writes are rare next to reads,
 * so the copy (about 1 ms for a full 5 MB store) is paid per write, never per request.
 */
import { openFrontError } from '../errors.js';
import { MapSnapshot, type KvsSnapshot } from './snapshot.js';
import type { ChangeRecord, ReplicaSource, StoreChangeFeed } from './types.js';

export class KvsReplica implements ReplicaSource {
  readonly storeId: string;
  readonly #feed: StoreChangeFeed;
  #items = new Map<string, string>();
  #version = 0;
  #created = new Date(0);
  #updated = new Date(0);
  /** The snapshot of the current version, once one was asked for; it shares `#items`. */
  #snapshot: MapSnapshot | undefined;

  private constructor(feed: StoreChangeFeed, storeId: string) {
    this.#feed = feed;
    this.storeId = storeId;
  }

  /** Loads the whole store (KVS_NOT_FOUND when it does not exist); then feed it changes with `apply`. */
  static load(feed: StoreChangeFeed, storeId: string): KvsReplica {
    const replica = new KvsReplica(feed, storeId);
    replica.#reload();
    return replica;
  }

  /** Version of the data this replica serves. */
  get version(): number {
    return this.#version;
  }

  /**
   * Applies the next committed change. Versions already applied are ignored (so a replica loaded while changes were
   * queued catches up without double-applying). A gap — a version beyond the next one — means changes were missed:
   * the replica reloads the whole store from the database, which already holds that version.
   */
  apply(change: ChangeRecord): void {
    if (change.storeId !== this.storeId) {
      throw openFrontError('INTERNAL', `Change for store ${change.storeId} applied to the replica of store ${this.storeId}`);
    }
    if (change.version <= this.#version) return;
    if (change.version > this.#version + 1) {
      this.#reload();
      if (change.version <= this.#version) return;
      throw openFrontError('INTERNAL', `Store ${this.storeId}: change ${change.version} is ahead of the database (version ${this.#version})`);
    }
    const items = change.replace ? new Map<string, string>() : this.#writableItems();
    for (const { key, value } of change.puts) items.set(key, value);
    for (const key of change.deletes) items.delete(key);
    this.#items = items;
    this.#version = change.version;
    this.#updated = change.at;
    this.#snapshot = undefined;
  }

  /** An immutable view of the current version; repeated calls between changes return the same object. */
  snapshot(): KvsSnapshot {
    this.#snapshot ??= new MapSnapshot(this.#items, {
      id: this.storeId,
      version: this.#version,
      created: this.#created,
      updated: this.#updated,
    });
    return this.#snapshot;
  }

  #writableItems(): Map<string, string> {
    return this.#snapshot === undefined ? this.#items : new Map(this.#items);
  }

  #reload(): void {
    // One read: the store version and its items come from the same database state.
    const loaded = this.#feed.loadStore(this.storeId);
    if (loaded === undefined) throw openFrontError('KVS_NOT_FOUND', `KeyValueStore ${this.storeId} was not found`, { storeId: this.storeId });
    const items = new Map<string, string>();
    for (const { key, value } of loaded.items) items.set(key, value);
    this.#items = items;
    this.#version = loaded.store.version;
    this.#created = loaded.store.created;
    this.#updated = loaded.store.lastModified;
    this.#snapshot = undefined;
  }
}

/** Keeps one replica per store up to date from `feed.onChange` (single-node, in-process propagation). */
export class ReplicaSet {
  readonly #feed: StoreChangeFeed;
  readonly #replicas = new Map<string, KvsReplica>();
  readonly #unsubscribe: Array<() => void>;

  constructor(feed: StoreChangeFeed) {
    this.#feed = feed;
    this.#unsubscribe = [
      feed.onChange((change) => this.#replicas.get(change.storeId)?.apply(change)),
      feed.onStoreDeleted((storeId) => this.#replicas.delete(storeId)),
    ];
  }

  /** The replica of `storeId`, loaded on first use (KVS_NOT_FOUND when the store does not exist). */
  get(storeId: string): KvsReplica {
    let replica = this.#replicas.get(storeId);
    if (replica === undefined) {
      replica = KvsReplica.load(this.#feed, storeId);
      this.#replicas.set(storeId, replica);
    }
    return replica;
  }

  /**
   * Brings the replica of `storeId` (if loaded) up to the database from its change log: for a process that reads a
   * database another process writes (an edge worker told of a commit over IPC), where `feed.onChange` never fires.
   * A store that is gone is forgotten.
   */
  catchUp(storeId: string): void {
    const replica = this.#replicas.get(storeId);
    if (replica === undefined) return;
    if (this.#feed.getStore({ id: storeId }) === undefined) {
      this.#replicas.delete(storeId);
      return;
    }
    for (const change of this.#feed.changesSince(storeId, replica.version)) replica.apply(change);
  }

  /** Stops following the database and forgets every replica. */
  close(): void {
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    this.#replicas.clear();
  }
}
