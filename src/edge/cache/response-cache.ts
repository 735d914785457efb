/**
 * The edge's response cache: a memory tier (an LRU bounded by bytes, for small hot objects), an optional disk tier
 * for larger ones (disk-tier.ts) with the objects still being written to it (disk-fill.ts), request collapsing
 * for concurrent misses on the same key, and CloudFront-style invalidation by path over both tiers.
 */
import type { Readable } from 'node:stream';
import { LRUCache } from 'lru-cache';
import { openFrontError } from '../../errors.js';
import { ChunkedFill, RESERVE_STEP_BYTES } from './chunked-fill.js';
import { DiskFill } from './disk-fill.js';
import { DiskTier } from './disk-tier.js';
import { hasValidator } from './revalidate.js';

/** A stored response without its body. */
export type CachedHead = Omit<CachedResponse, 'body'>;

/** What a lookup finds: a body in memory, or a file of the disk tier (complete, or still being filled). */
export type CacheHit =
  | { tier: 'memory'; entry: CachedResponse }
  | { tier: 'disk'; head: CachedHead; path: string; size: number }
  | { tier: 'filling'; head: CachedHead; fill: DiskFill | ChunkedFill };

/** An expired copy about to be revalidated: a memory entry, or a complete file of the disk tier. */
export type StaleCopy = Extract<CacheHit, { tier: 'memory' | 'disk' }>;

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
  readonly #filling = new Map<string, { head: CachedHead; fill: DiskFill | ChunkedFill }>();
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
      // An expired copy with a validator stays to be revalidated (stale()); one without is of no more use.
      if (!hasValidator(object.meta.headers)) this.#disk.delete(key);
    }
    const filling = this.#filling.get(key);
    if (filling !== undefined && filling.fill.failure === undefined && filling.head.expiresAt > now)
      return { tier: 'filling', head: filling.head, fill: filling.fill };
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

  /**
   * Starts writing a body of unknown length (chunked, and already past the memory tier's limit) to the disk tier
   * under `key`, reserving room as it grows, to be kept when the origin ends it cleanly within
   * `maxDiskObjectBytes` unless the distribution was invalidated since `generation`. Returns the fill and the
   * first reader's stream (the leader's viewer), or undefined when there is no disk tier or no room to start: the
   * caller streams the body through instead.
   */
  async startChunkedFill(key: string, head: CachedHead, body: Readable, generation: number): Promise<{ fill: ChunkedFill; leader: Readable } | undefined> {
    const disk = this.#disk;
    if (disk === undefined || generation !== this.generation(head.distributionId)) return undefined;
    const first = Math.min(RESERVE_STEP_BYTES, this.maxDiskObjectBytes);
    const reserved = await disk.reserve(first);
    if (reserved === undefined) return undefined;
    let fill: ChunkedFill;
    try {
      fill = new ChunkedFill(reserved.path, {
        maxBytes: this.maxDiskObjectBytes,
        reserved: first,
        grow: (bytes) => disk.grow(bytes),
        abandon: (total) => {
          if (this.#filling.get(key)?.fill === fill) this.#filling.delete(key);
          disk.release(total, reserved.path);
        },
      });
    } catch {
      await reserved.file.close().catch(() => undefined);
      disk.release(first, reserved.path);
      return undefined;
    }
    const leader = fill.reader()!;
    const slot = { head, fill };
    this.#filling.set(key, slot);
    void fill.run(body as AsyncIterable<Buffer>, reserved.file).then(async (complete) => {
      if (complete === undefined) return;
      const keep = () => this.#filling.get(key) === slot && generation === this.generation(head.distributionId);
      const path = await disk.commit(key, reserved.path, complete.size, head, keep, () => undefined, complete.reserved);
      if (this.#filling.get(key) === slot) this.#filling.delete(key);
      if (path !== undefined) this.#lru?.delete(key);
    });
    return { fill, leader };
  }

  /** A fresh entry, or undefined (expired entries without a validator are dropped on the way). */
  get(key: string): CachedResponse | undefined {
    const entry = this.#lru?.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.now()) {
      if (!hasValidator(entry.headers)) this.#lru!.delete(key);
      return undefined;
    }
    return entry;
  }

  /**
   * An expired copy that can be revalidated with the origin (it has an ETag or a Last-Modified), in either tier;
   * undefined when there is none or the copy is still fresh.
   */
  stale(key: string): StaleCopy | undefined {
    const now = this.now();
    const entry = this.#lru?.get(key);
    if (entry !== undefined) return entry.expiresAt <= now && hasValidator(entry.headers) ? { tier: 'memory', entry } : undefined;
    const object = this.#disk?.get(key);
    if (object === undefined || object.meta.expiresAt > now || !hasValidator(object.meta.headers)) return undefined;
    return { tier: 'disk', head: object.meta, path: object.path, size: object.size };
  }

  /**
   * Gives a copy found by {@link stale} new headers and times (a 304 from the origin, or an origin error that
   * serves it a while longer) and returns it as a hit. The tier keeps it unless the copy was dropped or replaced
   * meanwhile or the distribution was invalidated since `generation`; the copy is returned to be served anyway.
   */
  refresh(key: string, copy: StaleCopy, head: Pick<CachedHead, 'headers' | 'storedAt' | 'expiresAt'>, generation: number): StaleCopy {
    if (copy.tier === 'memory') {
      const entry: CachedResponse = { ...copy.entry, ...head };
      if (this.#lru?.get(key) === copy.entry && generation === this.generation(entry.distributionId)) this.#lru.set(key, entry);
      return { tier: 'memory', entry };
    }
    const meta: CachedHead = { ...copy.head, ...head };
    if (generation === this.generation(meta.distributionId)) this.#disk?.update(key, copy.path, meta);
    return { ...copy, head: meta };
  }

  /** Drops a copy the origin replaced (a revalidation answered by something other than 304 or a 5xx). */
  drop(key: string, copy: StaleCopy): void {
    if (copy.tier === 'memory') {
      if (this.#lru?.get(key) === copy.entry) this.#lru.delete(key);
    } else if (this.#disk?.get(key)?.path === copy.path) this.#disk.delete(key);
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
