/**
 * The disk tier of the response cache: large objects as files in one directory, an LRU bounded by bytes. Space
 * for an object is reserved before its bytes are written (its Content-Length, or step by step for a chunked body),
 * so files being written and files kept together never exceed the budget. The directory is emptied when the tier starts: entries are not
 * indexed, so nothing survives a restart, and temporary files of a crashed fill are removed with the rest.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, unlink } from 'node:fs';
import { link, open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { LRUCache } from 'lru-cache';

/** Most objects written at once: each holds a file descriptor until complete. */
export const MAX_CONCURRENT_FILLS = 256;
/** Prefix of files still being written; only renamed files are ever served from the tier. */
export const TEMP_PREFIX = 'fill-';

export interface DiskTierOptions {
  dir: string;
  /** Byte budget of kept and reserved objects. */
  maxBytes: number;
}

export interface DiskObject<M> {
  path: string;
  size: number;
  /** What the cache keeps about the object beside its bytes (status, headers, expiry). */
  meta: M;
}

export class DiskTier<M> {
  readonly dir: string;
  readonly maxBytes: number;
  readonly #lru: LRUCache<string, DiskObject<M>>;
  #reserved = 0;
  #fills = 0;
  #evictions = 0;

  constructor(options: DiskTierOptions) {
    this.dir = options.dir;
    this.maxBytes = options.maxBytes;
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    for (const name of readdirSync(this.dir)) rmSync(join(this.dir, name), { recursive: true, force: true });
    this.#lru = new LRUCache<string, DiskObject<M>>({
      maxSize: Math.max(1, options.maxBytes),
      sizeCalculation: (entry) => Math.max(1, entry.size),
      dispose: (entry, _key, reason) => {
        if (reason === 'evict') this.#evictions++;
        // Replaced, evicted or deleted: readers that opened the file keep reading it; the name goes now.
        unlink(entry.path, () => undefined);
      },
    });
  }

  get(key: string): DiskObject<M> | undefined {
    return this.#lru.get(key);
  }

  /** Replaces what is kept beside an object's bytes (a revalidated copy's headers and times), if `path` is still it. */
  update(key: string, path: string, meta: M): void {
    const object = this.#lru.get(key);
    if (object !== undefined && object.path === path) object.meta = meta;
  }

  delete(key: string): void {
    this.#lru.delete(key);
  }

  /**
   * Reserves `size` bytes for a new object, evicting least recently used objects to make room, and opens its
   * temporary file. Undefined when the object cannot fit beside those being written (it is then streamed through).
   */
  async reserve(size: number): Promise<{ path: string; file: FileHandle } | undefined> {
    if (size > this.maxBytes || this.#fills >= MAX_CONCURRENT_FILLS) return undefined;
    while (this.#lru.calculatedSize + this.#reserved + size > this.maxBytes && this.#lru.size > 0) this.#lru.pop();
    if (this.#lru.calculatedSize + this.#reserved + size > this.maxBytes) return undefined;
    this.#reserved += size;
    this.#fills++;
    const path = join(this.dir, `${TEMP_PREFIX}${randomBytes(12).toString('hex')}`);
    try {
      return { path, file: await open(path, 'wx', 0o600) };
    } catch {
      this.release(size);
      return undefined;
    }
  }

  /**
   * Adds `size` bytes to a fill's reservation (a chunked body that grew), evicting least recently used objects to
   * make room. False when the room cannot be had beside the objects being written.
   */
  grow(size: number): boolean {
    while (this.#lru.calculatedSize + this.#reserved + size > this.maxBytes && this.#lru.size > 0) this.#lru.pop();
    if (this.#lru.calculatedSize + this.#reserved + size > this.maxBytes) return false;
    this.#reserved += size;
    return true;
  }

  /** Gives back a reservation (the fill ended); the file at `tempPath`, if any, is removed. */
  release(size: number, tempPath?: string): void {
    this.#reserved -= size;
    this.#fills--;
    if (tempPath !== undefined) unlink(tempPath, () => undefined);
  }

  /**
   * Moves a complete temporary file of `size` bytes into the tier under `key`; returns its new path, or undefined
   * if not kept. `reserved` is what the fill held for it (more than `size` for a chunked body reserved in steps).
   */
  async commit(
    key: string,
    tempPath: string,
    size: number,
    meta: M,
    keep: () => boolean,
    moved: (path: string) => void,
    reserved = size,
  ): Promise<string | undefined> {
    if (!keep()) {
      this.release(reserved, tempPath);
      return undefined;
    }
    const path = join(this.dir, `obj-${randomBytes(12).toString('hex')}`);
    try {
      // A second name first, then the temporary one goes: a reader opening the object meanwhile finds one of them.
      await link(tempPath, path);
    } catch {
      this.release(reserved, tempPath);
      return undefined;
    }
    moved(path);
    unlink(tempPath, () => undefined);
    this.#reserved -= reserved;
    this.#fills--;
    // Invalidated while the file was renamed: it is not kept.
    if (!keep()) {
      unlink(path, () => undefined);
      return undefined;
    }
    this.#lru.set(key, { path, size, meta });
    return path;
  }

  /** Kept objects (invalidation walks them). */
  entries(): IterableIterator<[string, DiskObject<M>]> {
    return this.#lru.entries();
  }

  stats(): { bytes: number; reserved: number; entries: number; evictions: number; fills: number } {
    return { bytes: this.#lru.calculatedSize, reserved: this.#reserved, entries: this.#lru.size, evictions: this.#evictions, fills: this.#fills };
  }

  clear(): void {
    this.#lru.clear();
  }
}
