/**
 * The read-only view of a KeyValueStore that a function invocation sees.
 *
 * A snapshot is immutable: every read made during one invocation sees the same store version. The engine only ever
 * holds this type; writers live in `control/` (docs/architecture.md, "Rules").
 */
export interface KvsSnapshot {
  /** Store id (the UUID part of the ARN). */
  readonly id: string;
  /** Store version this snapshot was taken at (the change-log sequence number). */
  readonly version: number;
  /** Raw bytes of the value as UTF-8 text, or undefined when the key does not exist. */
  get(key: string): string | undefined;
  has(key: string): boolean;
  meta(): KvsMeta;
}

export interface KvsMeta {
  /** ISO-8601 */
  creationDateTime: string;
  /** ISO-8601 */
  lastUpdatedDateTime: string;
  keyCount: number;
}

/** Something that can hand out a fresh snapshot of a store on demand (a replica). */
export interface KvsSnapshotSource {
  snapshot(): KvsSnapshot;
}

/** A snapshot over a plain map: the in-memory implementation for tests, the CLI and the runner. */
export class MapSnapshot implements KvsSnapshot {
  readonly id: string;
  readonly version: number;
  readonly #items: ReadonlyMap<string, string>;
  readonly #meta: KvsMeta;

  constructor(items: ReadonlyMap<string, string> | Record<string, string>, options: { id?: string; version?: number; created?: Date; updated?: Date } = {}) {
    this.#items = items instanceof Map ? items : new Map(Object.entries(items));
    this.id = options.id ?? '00000000-0000-4000-8000-000000000000';
    this.version = options.version ?? 0;
    const created = (options.created ?? new Date(0)).toISOString();
    this.#meta = {
      creationDateTime: created,
      lastUpdatedDateTime: (options.updated ?? options.created ?? new Date(0)).toISOString(),
      keyCount: this.#items.size,
    };
  }

  get(key: string): string | undefined {
    return this.#items.get(key);
  }

  has(key: string): boolean {
    return this.#items.has(key);
  }

  meta(): KvsMeta {
    return { ...this.#meta };
  }
}
