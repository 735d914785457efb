/**
 * The edge's response cache: a memory tier (an LRU bounded by bytes, for small hot objects), an optional disk tier
 * for larger ones (disk-tier.ts) with the objects still being written to it (disk-fill.ts), request collapsing
 * for concurrent misses on the same key, and CloudFront-style invalidation by path over both tiers.
 */
import type { Readable } from 'node:stream';
import { LRUCache } from 'lru-cache';
import { openFrontError } from '../../errors.js';
import { DiskFill } from './disk-fill.js';
import { DiskTier } from './disk-tier.js';

/** A stored response without its body. */
export type CachedHead = Omit<CachedResponse, 'body'>;

/** What a lookup finds: a body in memory, or a file of the disk tier (complete, or still being filled). */
export type CacheHit =
  | { tier: 'memory'; entry: CachedResponse }
  | { tier: 'disk'; head: CachedHead; path: string; size: number }
  | { tier: 'filling'; head: CachedHead; fill: DiskFill };

export interface CachedResponse {
  status: number;
  statusText: string;
  /** Origin response headers (hop-by-hop already removed), raw name case. */
  headers: Array<[string, string]>;
  body: Buffer;
  distributionId: string;
  /** Path plus cache-key query string, matched by invalidation paths. */
  objectPath: string;
  /** ms since epoch (the cache's clock). */
  storedAt: number;
  expiresAt: number;
}

export interface ResponseCacheOptions {
  /** Byte budget; 0 disables storing. */
  maxBytes: number;
  /** Largest body the memory tier keeps (default {@link DEFAULT_MEMORY_OBJECT_BYTES}, at most `maxBytes`). */
  maxObjectBytes?: number;
  /** The disk tier for larger objects; absent: objects larger than the memory tier's limit are not stored. */
  disk?: { dir: string; maxBytes: number; maxObjectBytes: number };
  /** Clock in ms; tests pass a fake one. */
  now?: () => number;
}

/** Objects up to this size are kept in memory unless configured otherwise: small and hot is what memory is for. */
export const DEFAULT_MEMORY_OBJECT_BYTES = 1024 * 1024;

/** Fixed cost charged per entry on top of body and header bytes (key, object and map overhead). */
const ENTRY_OVERHEAD_BYTES = 256;

export class ResponseCache {
  readonly #lru: LRUCache<string, CachedResponse> | undefined;
  readonly #inFlight = new Map<string, Promise<unknown>>();
  /** Bumped by every invalidation of a distribution, so fetches that started before it do not store stale data. */
  readonly #generations = new Map<string, number>();
  readonly now: () => number;
  /** Largest body the memory tier stores; 0 when it stores nothing. */
  readonly maxObjectBytes: number;
  /** Largest body the disk tier stores; 0 without a disk tier. */
  readonly maxDiskObjectBytes: number;
  readonly #disk: DiskTier<CachedHead> | undefined;
  /** Objects being written to the disk tier: later requests for the key read them as they grow. */
  readonly #filling = new Map<string, { head: CachedHead; fill: DiskFill }>();
  #evictions = 0;

  constructor(options: ResponseCacheOptions) {
    this.now = options.now ?? Date.now;
    this.maxObjectBytes = Math.min(options.maxObjectBytes ?? DEFAULT_MEMORY_OBJECT_BYTES, options.maxBytes);
    const disk = options.disk;
    this.#disk = disk !== undefined && disk.maxBytes > 0 ? new DiskTier<CachedHead>({ dir: disk.dir, maxBytes: disk.maxBytes }) : undefined;
    this.maxDiskObjectBytes = this.#disk === undefined ? 0 : Math.min(disk!.maxObjectBytes, disk!.maxBytes);
    this.#lru =
      options.maxBytes > 0
        ? new LRUCache<string, CachedResponse>({
            maxSize: options.maxBytes,
            sizeCalculation: (entry, key) => entrySize(entry, key),
            dispose: (_entry, _key, reason) => {
              if (reason === 'evict') this.#evictions++;
            },
          })
        : undefined;
  }

  /** Bytes held (as the budget counts them), objects held, and objects evicted for space so far (metrics). */
  stats(): { bytes: number; entries: number; evictions: number } {
    const disk = this.#disk?.stats();
    return {
      bytes: (this.#lru?.calculatedSize ?? 0) + (disk?.bytes ?? 0),
      entries: (this.#lru?.size ?? 0) + (disk?.entries ?? 0),
      evictions: this.#evictions + (disk?.evictions ?? 0),
    };
  }

  /** The disk tier's own figures (bytes kept and reserved, objects, fills under way); undefined without one. */
  diskStats(): ReturnType<DiskTier<CachedHead>['stats']> | undefined {
    return this.#disk?.stats();
  }

  /** A fresh object in either tier, or one still being written to disk; expired objects are dropped on the way. */
  lookup(key: string): CacheHit | undefined {
    const entry = this.get(key);
    if (entry !== undefined) return { tier: 'memory', entry };
    if (this.#disk === undefined) return undefined;
    const now = this.now();
    const object = this.#disk.get(key);
    if (object !== undefined) {
      if (object.meta.expiresAt > now) return { tier: 'disk', head: object.meta, path: object.path, size: object.size };
      this.#disk.delete(key);
    }
    const filling = this.#filling.get(key);
    if (filling !== undefined && filling.fill.failure === undefined && filling.head.expiresAt > now) return { tier: 'filling', ...filling };
    return undefined;
  }

  /** A disk object's file was found missing (removed from outside): forget it. */
  forgetDisk(key: string): void {
    this.#disk?.delete(key);
  }

  /**
   * Starts writing `body` (of `length` bytes, as declared) to the disk tier under `key`, to be kept when complete
   * unless the distribution was invalidated since `generation`. Undefined when there is no disk tier or no room:
   * the caller streams the body through instead. Readers follow the returned fill as it grows.
   */
  async startFill(key: string, head: CachedHead, length: number, body: Readable, generation: number): Promise<DiskFill | undefined> {
    const disk = this.#disk;
    if (disk === undefined || length > this.maxDiskObjectBytes || generation !== this.generation(head.distributionId)) return undefined;
    const reserved = await disk.reserve(length);
    if (reserved === undefined) return undefined;
    const fill = new DiskFill(reserved.path, length);
    const slot = { head, fill };
    this.#filling.set(key, slot);
    void fill.write(body as AsyncIterable<Buffer>, reserved.file).then(async (complete) => {
      if (!complete) {
        if (this.#filling.get(key) === slot) this.#filling.delete(key);
        disk.release(length, reserved.path);
        return;
      }
      const keep = () => this.#filling.get(key) === slot && generation === this.generation(head.distributionId);
      const path = await disk.commit(key, reserved.path, length, head, keep, (moved) => fill.moved(moved));
      if (this.#filling.get(key) === slot) this.#filling.delete(key);
      // A memory copy of the key (stored while this was filling) is older than this one.
      if (path !== undefined) this.#lru?.delete(key);
    });
    return fill;
  }

  /** A fresh entry, or undefined (expired entries are dropped on the way). */
  get(key: string): CachedResponse | undefined {
    const entry = this.#lru?.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.#lru!.delete(key);
      return undefined;
    }
    return entry;
  }

  /** Stores unless the distribution was invalidated since `generation` was read (see {@link generation}). */
  set(key: string, entry: CachedResponse, generation: number): boolean {
    if (this.#lru === undefined || generation !== this.generation(entry.distributionId)) return false;
    this.#lru.set(key, entry);
    return this.#lru.has(key);
  }

  generation(distributionId: string): number {
    return this.#generations.get(distributionId) ?? 0;
  }

  /**
   * Runs `fetch` once for concurrent callers with the same key: the first caller leads, the others wait for its
   * result (`collapsed: true`).
   */
  collapse<T>(key: string, fetch: () => Promise<T>): { result: Promise<T>; collapsed: boolean } {
    const pending = this.#inFlight.get(key) as Promise<T> | undefined;
    if (pending !== undefined) return { result: pending, collapsed: true };
    const result = fetch().finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, result);
    return { result, collapsed: false };
  }

  /**
   * Drops the distribution's objects matching CloudFront invalidation paths: `/images/*` (prefix, `*` last only),
   * `/*` (everything) or an exact object path (including its cache-key query string). Returns how many went.
   */
  invalidate(distributionId: string, paths: readonly string[]): number {
    const matchers = paths.map(invalidationMatcher);
    this.#generations.set(distributionId, this.generation(distributionId) + 1);
    const matches = (head: CachedHead) => head.distributionId === distributionId && matchers.some((m) => m(head.objectPath));
    let dropped = 0;
    if (this.#lru !== undefined) {
      const doomed: string[] = [];
      for (const [key, entry] of this.#lru.entries()) if (matches(entry)) doomed.push(key);
      for (const key of doomed) this.#lru.delete(key);
      dropped += doomed.length;
    }
    if (this.#disk !== undefined) {
      const doomed: string[] = [];
      for (const [key, object] of this.#disk.entries()) if (matches(object.meta)) doomed.push(key);
      for (const key of doomed) this.#disk.delete(key);
      dropped += doomed.length;
    }
    // Objects still being written: readers already following them finish, but nobody new joins and none is kept.
    for (const [key, slot] of this.#filling) if (matches(slot.head)) this.#filling.delete(key);
    return dropped;
  }

  /** Bytes charged against the budget now. */
  get bytes(): number {
    return this.#lru?.calculatedSize ?? 0;
  }

  get entries(): number {
    return this.#lru?.size ?? 0;
  }

  clear(): void {
    this.#lru?.clear();
    this.#disk?.clear();
    this.#filling.clear();
  }
}

export function invalidationMatcher(path: string): (objectPath: string) => boolean {
  const star = path.indexOf('*');
  if (star !== -1 && star !== path.length - 1) {
    throw openFrontError('INPUT_INVALID', `Invalidation path "${path}": "*" is allowed only as the last character`, { path });
  }
  const normalized = path.startsWith('/') ? path : `/${path}`;
  if (normalized.endsWith('*')) {
    const prefix = normalized.slice(0, -1);
    return (objectPath) => objectPath.startsWith(prefix);
  }
  return (objectPath) => objectPath === normalized;
}

function entrySize(entry: CachedResponse, key: string): number {
  let size = ENTRY_OVERHEAD_BYTES + key.length + entry.body.length + entry.objectPath.length;
  for (const [name, value] of entry.headers) size += name.length + value.length + 4;
  return size;
}
