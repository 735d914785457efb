/**
 * Watches a set of files through their directories and reports them in debounced batches.
 *
 * Directories, not files, are watched because editors save by writing a temporary file and renaming it over the
 * original: a watch on the original file's inode would go quiet after the first save. One save also fires several
 * events (truncate, write, rename); the debounce turns them into one batch.
 */
import { watch, type FSWatcher } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export interface FileWatcherOptions {
  /** Quiet time after the last event before a batch is reported. */
  debounceMs: number;
  /** Receives the changed files of one batch (absolute paths, each once). */
  onChange: (files: Set<string>) => void;
  /** Told when a directory cannot be watched (it does not exist, or the system is out of watches). */
  onError: (dir: string, err: Error) => void;
}

export class FileWatcher {
  readonly #options: FileWatcherOptions;
  readonly #watchers = new Map<string, FSWatcher>();
  #files = new Set<string>();
  #pending = new Set<string>();
  #timer: NodeJS.Timeout | undefined;

  constructor(options: FileWatcherOptions) {
    this.#options = options;
  }

  /** The files watched now. */
  get files(): string[] {
    return [...this.#files];
  }

  /** Watches exactly `files` from now on: new directories are opened, unused ones closed. */
  set(files: Iterable<string>): void {
    this.#files = new Set([...files].map((f) => resolve(f)));
    const dirs = new Set([...this.#files].map((f) => dirname(f)));
    for (const [dir, watcher] of this.#watchers) {
      if (dirs.has(dir)) continue;
      watcher.close();
      this.#watchers.delete(dir);
    }
    for (const dir of dirs) {
      if (this.#watchers.has(dir)) continue;
      try {
        const watcher = watch(dir, { persistent: false }, (_event, name) => this.#onEvent(dir, name));
        watcher.on('error', (err) => this.#options.onError(dir, err));
        this.#watchers.set(dir, watcher);
      } catch (err) {
        this.#options.onError(dir, err as Error);
      }
    }
  }

  close(): void {
    clearTimeout(this.#timer);
    for (const watcher of this.#watchers.values()) watcher.close();
    this.#watchers.clear();
    this.#pending.clear();
  }

  #onEvent(dir: string, name: string | Buffer | null): void {
    // Without a file name (rare; some platforms) every watched file of the directory may have changed.
    const candidates = name === null ? [...this.#files].filter((f) => dirname(f) === dir) : [join(dir, name.toString())];
    const changed = candidates.filter((f) => this.#files.has(f));
    if (changed.length === 0) return;
    for (const file of changed) this.#pending.add(file);
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      const batch = this.#pending;
      this.#pending = new Set();
      this.#options.onChange(batch);
    }, this.#options.debounceMs);
  }
}
