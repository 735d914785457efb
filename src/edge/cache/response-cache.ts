/**
 * The edge's in-memory response cache: an LRU bounded by bytes, request collapsing for concurrent misses on the
 * same key, and CloudFront-style invalidation by path.
 */
import { LRUCache } from 'lru-cache';
import { openFrontError } from '../../errors.js';

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
  /** Largest body this cache stores; 0 when it stores nothing. */
  readonly maxObjectBytes: number;
  #evictions = 0;

  constructor(options: ResponseCacheOptions) {
    this.now = options.now ?? Date.now;
    this.maxObjectBytes = Math.min(options.maxObjectBytes ?? DEFAULT_MEMORY_OBJECT_BYTES, options.maxBytes);
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
    return { bytes: this.#lru?.calculatedSize ?? 0, entries: this.#lru?.size ?? 0, evictions: this.#evictions };
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
    if (this.#lru === undefined) return 0;
    const doomed: string[] = [];
    for (const [key, entry] of this.#lru.entries()) {
      if (entry.distributionId === distributionId && matchers.some((m) => m(entry.objectPath))) doomed.push(key);
    }
    for (const key of doomed) this.#lru.delete(key);
    return doomed.length;
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
