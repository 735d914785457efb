/**
 * The state of one store rebuilt from its stream's messages, in sequence order: a key → value map and the version
 * (the sequence of the last message applied). The edge's replica and the writer's consistent reads both use it.
 *
 * A journal message is applied as a whole in one step, so a reader never sees part of a batch; the
 * materialisation messages that follow it rewrite the same values. Snapshots are copy-on-write like the
 * single-node replica's (src/kvs/replica.ts): taking one is O(1), the first change after it copies the map.
 */
import { MapSnapshot, type KvsSnapshot } from '../../../kvs/snapshot.js';
import { decodeJournal, JournalAssembler, journalOpCount, type Journal, type JournalPart } from './journal.js';
import { decodeKey, isEncodedKey, JOURNAL_KEY } from '../key-codec.js';

/** A message of a store's stream as the feed hands it over. */
export interface StreamEntry {
  seq: number;
  /** The NATS KV key: what follows `$KV.<bucket>.` in the subject. */
  natsKey: string;
  /** `PUT` for a value, `DEL` / `PURGE` for a delete marker (the `KV-Operation` header). */
  operation: 'PUT' | 'DEL' | 'PURGE';
  data: Uint8Array;
  time: Date;
  /** For a part of a journal spread over several messages: which one. */
  part?: JournalPart;
}

/** Where the last journal applied sits, to tell a finished batch from one whose writer died. */
export interface JournalPosition {
  /** The journal's commit point: its message, or its last part. */
  seq: number;
  ops: number;
  /** How many messages the journal spans (1 when absent). */
  parts?: number;
}

export interface StoreViewState {
  items: Map<string, string>;
  version: number;
  updated: Date;
  lastJournal?: JournalPosition;
}

/** Bytes a stored item counts for (the same rule as the SQLite store: UTF-8 key + value). */
export function itemBytes(key: string, value: string): number {
  return Buffer.byteLength(key, 'utf8') + Buffer.byteLength(value, 'utf8');
}

export class StoreView {
  readonly storeId: string;
  #items: Map<string, string>;
  #version: number;
  #updated: Date;
  #created: Date;
  #totalBytes = -1;
  #lastJournal: JournalPosition | undefined;
  readonly #parts = new JournalAssembler();
  #snapshot: MapSnapshot | undefined;
  /** True while a snapshot handed out holds `#items`: the next change copies the map first. */
  #shared = false;
  #sorted: string[] | undefined;
  /** Keys changed since `takeChanges()` was last called (for incremental snapshot files); undefined = everything. */
  #dirty: Set<string> | undefined = new Set();

  constructor(storeId: string, state: Partial<StoreViewState> & { created?: Date } = {}) {
    this.storeId = storeId;
    this.#items = state.items ?? new Map();
    this.#version = state.version ?? 0;
    this.#updated = state.updated ?? new Date(0);
    this.#created = state.created ?? new Date(0);
    this.#lastJournal = state.lastJournal;
  }

  get version(): number {
    return this.#version;
  }

  get updated(): Date {
    return this.#updated;
  }

  get itemCount(): number {
    return this.#items.size;
  }

  get lastJournal(): JournalPosition | undefined {
    return this.#lastJournal;
  }

  /**
   * The version a saved copy of this view may claim: the current one, or the one before the parts of a batch still
   * being collected (the data is the same), so that a restart reads those parts again.
   */
  get durableVersion(): number {
    const since = this.#parts.pendingSince;
    return since === undefined ? this.#version : since - 1;
  }

  /** The last journal's position when its batch is not fully materialised at this version (its writer died). */
  unfinishedJournal(): JournalPosition | undefined {
    const j = this.#lastJournal;
    return j !== undefined && j.seq + j.ops > this.#version ? j : undefined;
  }

  get totalSizeInBytes(): number {
    if (this.#totalBytes < 0) {
      let total = 0;
      for (const [k, v] of this.#items) total += itemBytes(k, v);
      this.#totalBytes = total;
    }
    return this.#totalBytes;
  }

  get(key: string): string | undefined {
    return this.#items.get(key);
  }

  /** The items in key order (UTF-16 code unit order, as the SQLite store lists them); kept until the next change. */
  sortedKeys(): readonly string[] {
    this.#sorted ??= [...this.#items.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return this.#sorted;
  }

  entries(): IterableIterator<[string, string]> {
    return this.#items.entries();
  }

  /**
   * Applies the next message of the stream. Messages at or below the current version are ignored, so a feed that
   * restarts a little early does no harm. Returns whether the version moved.
   */
  apply(entry: StreamEntry): boolean {
    if (entry.seq <= this.#version) return false;
    // The parts of a batch are consecutive: any other message ends a batch whose writer died between parts.
    if (entry.part === undefined) this.#parts.reset();
    if (isEncodedKey(entry.natsKey)) {
      let key: string | undefined;
      try {
        key = decodeKey(entry.natsKey);
      } catch {
        key = undefined; // not ours (a foreign writer): skipped, the version still moves
      }
      if (key !== undefined) {
        const value = entry.operation === 'PUT' ? Buffer.from(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength).toString('utf8') : undefined;
        // The ops materialising a batch rewrite what its journal already applied: those leave the map (and the
        // snapshots sharing it) alone, so following a big import costs no copy of the store per message.
        if (this.#items.get(key) !== value || (value === undefined && this.#items.has(key))) {
          const items = this.#writable();
          if (value !== undefined) items.set(key, value);
          else items.delete(key);
          this.#dirty?.add(key);
          this.#totalBytes = -1;
          this.#sorted = undefined;
        }
      }
    } else if (entry.natsKey === JOURNAL_KEY && entry.operation === 'PUT') {
      this.#applyJournal(entry.data, entry.seq, 1);
    } else if (entry.part !== undefined && entry.operation === 'PUT') {
      const whole = this.#parts.accept(entry.seq, entry.part, entry.data);
      if (whole !== undefined) this.#applyJournal(whole, entry.seq, entry.part.count);
    }
    this.#version = entry.seq;
    this.#updated = entry.time;
    // A new snapshot object carries the new version; it shares the map until the next change copies it.
    this.#snapshot = undefined;
    return true;
  }

  #applyJournal(data: Uint8Array, seq: number, parts: number): void {
    let journal: Journal;
    try {
      journal = decodeJournal(data);
    } catch {
      return; // not ours (a foreign writer, corruption): skipped, the version still moves
    }
    if (journal.replace) {
      this.#items = new Map();
      this.#shared = false;
      this.#snapshot = undefined;
      this.#dirty = undefined;
    }
    const items = this.#writable();
    for (const { key, value } of journal.puts) {
      items.set(key, value);
      this.#dirty?.add(key);
    }
    for (const key of journal.deletes) {
      items.delete(key);
      this.#dirty?.add(key);
    }
    this.#totalBytes = -1;
    this.#sorted = undefined;
    this.#lastJournal = parts === 1 ? { seq, ops: journalOpCount(journal) } : { seq, ops: journalOpCount(journal), parts };
  }

  /** A copy to apply changes to while this one keeps serving (the copy's change tracking starts empty). */
  clone(): StoreView {
    // At the version before a batch still being collected (same data), so that the copy reads its parts again.
    return new StoreView(this.storeId, {
      items: new Map(this.#items),
      version: this.durableVersion,
      updated: this.#updated,
      created: this.#created,
      lastJournal: this.#lastJournal,
    });
  }

  /** An immutable view of the current version; repeated calls between changes return the same object. */
  snapshot(): KvsSnapshot {
    this.#shared = true;
    this.#snapshot ??= new MapSnapshot(this.#items, { id: this.storeId, version: this.#version, created: this.#created, updated: this.#updated });
    return this.#snapshot;
  }

  /**
   * The keys changed since the last call (`undefined` when the whole store was replaced and must be rewritten),
   * and resets the tracking: what a snapshot file needs to write.
   */
  takeChanges(): { keys: Set<string> | undefined; version: number } {
    const keys = this.#dirty;
    this.#dirty = new Set();
    return { keys, version: this.durableVersion };
  }

  get hasChanges(): boolean {
    return this.#dirty === undefined || this.#dirty.size > 0;
  }

  #writable(): Map<string, string> {
    if (this.#shared) {
      this.#items = new Map(this.#items);
      this.#shared = false;
    }
    this.#snapshot = undefined;
    return this.#items;
  }
}
