/**
 * A store as it would be with a change set applied, without writing anything: the proposed data of
 * `openfront dry-run --kvs-changes` (docs/safe-changes.md). Reads see the overlay's puts and deletes first and the
 * base snapshot for every other key; the base is the live replica's snapshot, taken per invocation as usual.
 */
import type { KvsMeta, KvsSnapshot, KvsSnapshotSource } from './snapshot.js';

/** Puts and deletes for one store, already validated (src/kvs/change-set.ts). */
export interface StoreOverlay {
  puts: ReadonlyArray<{ key: string; value: string }>;
  deletes: readonly string[];
}

/** A snapshot source whose snapshots are `base`'s with `overlay` applied. */
export class OverlaySnapshotSource implements KvsSnapshotSource {
  readonly #base: KvsSnapshotSource;
  /** key → value, or undefined for a delete. */
  readonly #changes: ReadonlyMap<string, string | undefined>;
  #last: { base: KvsSnapshot; view: OverlaySnapshot } | undefined;

  constructor(base: KvsSnapshotSource, overlay: StoreOverlay) {
    this.#base = base;
    const changes = new Map<string, string | undefined>();
    for (const key of overlay.deletes) changes.set(key, undefined);
    for (const { key, value } of overlay.puts) changes.set(key, value);
    this.#changes = changes;
  }

  snapshot(): KvsSnapshot {
    const base = this.#base.snapshot();
    if (this.#last?.base !== base) this.#last = { base, view: new OverlaySnapshot(base, this.#changes) };
    return this.#last.view;
  }
}

class OverlaySnapshot implements KvsSnapshot {
  readonly id: string;
  /** The base version: the overlay is not a version of the store. */
  readonly version: number;
  readonly #base: KvsSnapshot;
  readonly #changes: ReadonlyMap<string, string | undefined>;
  #keyCount: number | undefined;

  constructor(base: KvsSnapshot, changes: ReadonlyMap<string, string | undefined>) {
    this.id = base.id;
    this.version = base.version;
    this.#base = base;
    this.#changes = changes;
  }

  get(key: string): string | undefined {
    return this.#changes.has(key) ? this.#changes.get(key) : this.#base.get(key);
  }

  has(key: string): boolean {
    return this.#changes.has(key) ? this.#changes.get(key) !== undefined : this.#base.has(key);
  }

  meta(): KvsMeta {
    const meta = this.#base.meta();
    if (this.#keyCount === undefined) {
      let count = meta.keyCount;
      for (const [key, value] of this.#changes) {
        const before = this.#base.has(key);
        if (value === undefined && before) count--;
        else if (value !== undefined && !before) count++;
      }
      this.#keyCount = count;
    }
    return { ...meta, keyCount: this.#keyCount };
  }
}
