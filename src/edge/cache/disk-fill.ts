/**
 * One object being written to the disk tier while viewers read it: the origin's body goes to a temporary file at
 * the disk's pace (independent of any viewer), and every reader follows the growing file from its own offset,
 * waiting when it has caught up. Only a complete file is renamed into the tier, so a crash never leaves a half
 * object that could be served (docs/edge.md, "Cache tiers").
 */
import { closeSync, openSync, read } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { openFrontError } from '../../errors.js';
import { noteStreamedBytes } from '../stream-garbage.js';

/** Bytes one reader asks the file for at a time (the viewer's socket paces how often). */
const READ_CHUNK_BYTES = 64 * 1024;

/** Where a reader's bytes come from: a file, and how much of it is there to read. */
export interface FileSource {
  /** Current path of the file (a fill renames its temporary file when complete). */
  readonly path: string;
  /** Bytes that can be read now. */
  available(): number;
  /** Set when the file will never be complete. */
  readonly failure: Error | undefined;
  /** Calls `wake` once, when more bytes are available or the source failed. */
  onProgress(wake: () => void): void;
}

/** A file that is already complete (a disk-tier hit). */
export function completeFile(path: string, size: number): FileSource {
  return { path, available: () => size, failure: undefined, onProgress: (wake) => wake() };
}

export class DiskFill implements FileSource {
  path: string;
  failure: Error | undefined;
  #written = 0;
  #waiting: Array<() => void> = [];

  constructor(
    tempPath: string,
    readonly length: number,
  ) {
    this.path = tempPath;
  }

  available(): number {
    return this.#written;
  }

  onProgress(wake: () => void): void {
    this.#waiting.push(wake);
  }

  /**
   * Writes `body` to `file` (open at the temporary path), then closes it. Resolves true when exactly `length`
   * bytes came; false (the fill failed, readers are woken to fail) otherwise.
   */
  async write(body: AsyncIterable<Buffer>, file: FileHandle): Promise<boolean> {
    try {
      for await (const chunk of body) {
        if (this.#written + chunk.length > this.length)
          throw openFrontError('EDGE_ORIGIN_CONNECT_ERROR', `the origin sent more than its Content-Length of ${this.length} bytes`, { reason: 'length' });
        await file.write(chunk, 0, chunk.length, this.#written);
        this.#written += chunk.length;
        // The origin's buffers are garbage once written, as a streamed body's are once sent.
        noteStreamedBytes(chunk.length);
        this.#wake();
      }
      if (this.#written !== this.length)
        throw openFrontError('EDGE_ORIGIN_CONNECT_ERROR', `the origin sent ${this.#written} of its Content-Length of ${this.length} bytes`, {
          reason: 'length',
        });
      return true;
    } catch (err) {
      this.fail(err as Error);
      return false;
    } finally {
      await file.close().catch(() => undefined);
    }
  }

  /** The complete file was renamed into the tier: readers that open it from now on open it there. */
  moved(path: string): void {
    this.path = path;
  }

  fail(err: Error): void {
    this.failure ??= err;
    this.#wake();
  }

  #wake(): void {
    const waiting = this.#waiting;
    if (waiting.length === 0) return;
    this.#waiting = [];
    for (const wake of waiting) wake();
  }
}

/**
 * Bytes `start`..`end` (inclusive) of a file source. The file is opened now, synchronously: it may be renamed
 * or evicted (unlinked) later, and an open descriptor keeps reading the same bytes. Throws when it is gone.
 */
export function readFileSource(source: FileSource, start: number, end: number): Readable {
  const fd = openSync(source.path, 'r');
  let position = start;
  return new Readable({
    highWaterMark: READ_CHUNK_BYTES,
    read() {
      const pull = (): void => {
        if (position > end) {
          this.push(null);
          return;
        }
        const available = source.available();
        if (position >= available) {
          if (source.failure !== undefined) this.destroy(source.failure);
          else source.onProgress(pull);
          return;
        }
        const size = Math.min(READ_CHUNK_BYTES, available - position, end - position + 1);
        const buffer = Buffer.allocUnsafe(size);
        read(fd, buffer, 0, size, position, (err, bytes) => {
          if (err) return this.destroy(err);
          if (bytes === 0) return this.destroy(openFrontError('INTERNAL', 'the cached file is shorter than its entry'));
          position += bytes;
          this.push(bytes === size ? buffer : buffer.subarray(0, bytes));
        });
      };
      pull();
    },
    destroy(err, callback) {
      try {
        closeSync(fd);
      } catch {
        // Already closed.
      }
      callback(err);
    },
  });
}
