/**
 * One object of unknown length (a chunked origin body) being written to the disk tier while viewers read it
 * (docs/edge.md, "Cache"). Its room in the tier's budget is reserved step by step as the body grows. The
 * object is kept only when the origin's body ended cleanly within `maxBytes` and the budget.
 *
 * When the fill cannot go on (the object passes `maxBytes`, the tier has no more room, or the disk refuses a
 * write) its temporary file and reservation are given back at once, and the rest of the body is passed to the
 * viewers already reading it through a small window in memory: the cache never costs a viewer bytes. From then on
 * the origin is paced by the slowest of those viewers, as a body streamed through uncached is, and when all of them
 * have gone the origin's body is released.
 *
 * Readers share one read descriptor, opened with the temporary file: the file may be renamed (kept) or unlinked
 * (given up) while they read, and the descriptor reads the same bytes either way.
 */
import { closeSync, openSync, read } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { openFrontError } from '../../errors.js';
import { noteStreamedBytes } from '../stream-garbage.js';

/** Bytes one reader asks the file for at a time (the viewer's socket paces how often). */
const READ_CHUNK_BYTES = 64 * 1024;
/** Budget asked of the tier at a time as a chunked body grows. */
export const RESERVE_STEP_BYTES = 4 * 1024 * 1024;
/** Bytes of a body passed through after the fill stopped that are held for readers still behind. */
export const PASS_WINDOW_BYTES = 1024 * 1024;

export interface ChunkedFillOptions {
  /** Largest object kept: a body that passes it stops the fill. */
  maxBytes: number;
  /** Bytes the tier reserved for the fill before it started. */
  reserved: number;
  /** Reserves `bytes` more in the tier; false when it has no room. */
  grow(bytes: number): boolean;
  /** The fill stopped before the end: the tier takes back `reserved` bytes and removes the temporary file. */
  abandon(reserved: number): void;
}

/** What a fill that ran to the end leaves: a complete temporary file of `size` bytes, `reserved` held for it. */
export interface CompleteFill {
  size: number;
  reserved: number;
}

interface ReaderState {
  position: number;
  wake: (() => void) | undefined;
}

export class ChunkedFill {
  failure: Error | undefined;
  readonly #options: ChunkedFillOptions;
  #fd: number | undefined;
  /** Bytes in the file (all of the body while filling; the part before the fill stopped after). */
  #fileBytes = 0;
  /** Length of the body, once it has ended. */
  #total: number | undefined;
  /** The fill stopped: bytes from `#fileBytes` on come from `#window`. */
  #passing = false;
  #window: Buffer[] = [];
  #windowStart = 0;
  #windowEnd = 0;
  readonly #readers = new Set<ReaderState>();
  /** The origin's body has been read to its end, failed, or was released. */
  #done = false;
  #room: (() => void) | undefined;

  constructor(tempPath: string, options: ChunkedFillOptions) {
    this.#options = options;
    this.#fd = openSync(tempPath, 'r');
  }

  /** Whether new readers may still join (it is filling, or complete in the file). */
  get joinable(): boolean {
    return !this.#passing && this.failure === undefined && this.#fd !== undefined;
  }

  /**
   * Reads `body` into `file` (open for writing at the temporary path) and closes it. Resolves with the complete
   * file's size and reservation when the object may be kept, undefined otherwise (the tier got its reservation
   * back through `abandon` then; readers were served or failed).
   */
  async run(body: AsyncIterable<Buffer>, file: FileHandle): Promise<CompleteFill | undefined> {
    const options = this.#options;
    let reserved = options.reserved;
    let fileOpen = true;
    const stopFilling = async (): Promise<void> => {
      fileOpen = false;
      await file.close().catch(() => undefined);
      options.abandon(reserved);
    };
    const iterator = body[Symbol.asyncIterator]();
    try {
      for (;;) {
        const next = await iterator.next();
        if (next.done === true) break;
        const chunk = next.value;
        if (!this.#passing) {
          const size = this.#fileBytes + chunk.length;
          let fits = size <= reserved;
          if (!fits && size <= options.maxBytes) {
            const step = Math.min(Math.max(RESERVE_STEP_BYTES, size - reserved), options.maxBytes - reserved);
            fits = options.grow(step);
            if (fits) reserved += step;
          }
          if (fits) {
            try {
              await file.write(chunk, 0, chunk.length, this.#fileBytes);
            } catch {
              fits = false;
            }
          }
          if (fits) {
            this.#fileBytes = size;
            // The origin's buffers are garbage once written, as a streamed body's are once sent.
            noteStreamedBytes(chunk.length);
            this.#wake();
            continue;
          }
          this.#passing = true;
          this.#windowStart = this.#windowEnd = this.#fileBytes;
          await stopFilling();
        }
        if (this.#readers.size === 0) {
          await iterator.return?.();
          return undefined;
        }
        this.#window.push(chunk);
        this.#windowEnd += chunk.length;
        noteStreamedBytes(chunk.length);
        this.#wake();
        while (this.#windowEnd - this.#windowStart > PASS_WINDOW_BYTES && this.#readers.size > 0) {
          await new Promise<void>((resolve) => (this.#room = resolve));
        }
      }
      if (this.#passing) {
        this.#total = this.#windowEnd;
        this.#wake();
        return undefined;
      }
      fileOpen = false;
      await file.close();
      this.#total = this.#fileBytes;
      this.#wake();
      return { size: this.#fileBytes, reserved };
    } catch (err) {
      this.failure ??= err as Error;
      this.#wake();
      if (fileOpen) await stopFilling();
      return undefined;
    } finally {
      this.#done = true;
      this.#closeIfUnused();
    }
  }

  /** A stream of the whole object from its first byte, or undefined when it can no longer be joined. */
  reader(): Readable | undefined {
    if (!this.joinable) return undefined;
    const state: ReaderState = { position: 0, wake: undefined };
    this.#readers.add(state);
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the stream's callbacks reach the fill's private state
    const fill = this;
    return new Readable({
      highWaterMark: READ_CHUNK_BYTES,
      read() {
        fill.#pull(this, state);
      },
      destroy(err, callback) {
        fill.#leave(state);
        callback(err);
      },
    });
  }

  #pull(stream: Readable, state: ReaderState): void {
    if (this.failure !== undefined) {
      stream.destroy(this.failure);
      return;
    }
    const position = state.position;
    if (position < this.#fileBytes) {
      const size = Math.min(READ_CHUNK_BYTES, this.#fileBytes - position);
      const buffer = Buffer.allocUnsafe(size);
      read(this.#fd!, buffer, 0, size, position, (err, bytes) => {
        if (stream.destroyed) return;
        if (err) return void stream.destroy(err);
        if (bytes === 0) return void stream.destroy(openFrontError('INTERNAL', 'the cached file is shorter than what was written to it'));
        state.position += bytes;
        stream.push(bytes === size ? buffer : buffer.subarray(0, bytes));
      });
      return;
    }
    if (position < this.#windowEnd) {
      let offset = this.#windowStart;
      for (const chunk of this.#window) {
        if (position < offset + chunk.length) {
          const part = position === offset ? chunk : chunk.subarray(position - offset);
          state.position += part.length;
          this.#trim();
          stream.push(part);
          return;
        }
        offset += chunk.length;
      }
    }
    if (this.#total !== undefined && position >= this.#total) {
      stream.push(null);
      return;
    }
    state.wake = () => this.#pull(stream, state);
  }

  #leave(state: ReaderState): void {
    if (!this.#readers.delete(state)) return;
    this.#trim();
    this.#closeIfUnused();
  }

  /** Drops window bytes every reader has passed, and lets the origin go on when the window has room. */
  #trim(): void {
    if (!this.#passing) return;
    let lowest = this.#windowEnd;
    for (const reader of this.#readers) if (reader.position < lowest) lowest = reader.position;
    while (this.#window.length > 0 && this.#windowStart + this.#window[0].length <= lowest) this.#windowStart += this.#window.shift()!.length;
    const room = this.#room;
    if (room !== undefined && (this.#windowEnd - this.#windowStart <= PASS_WINDOW_BYTES || this.#readers.size === 0)) {
      this.#room = undefined;
      room();
    }
  }

  #wake(): void {
    for (const reader of this.#readers) {
      const wake = reader.wake;
      if (wake === undefined) continue;
      reader.wake = undefined;
      wake();
    }
  }

  #closeIfUnused(): void {
    if (!this.#done || this.#readers.size > 0 || this.#fd === undefined) return;
    const fd = this.#fd;
    this.#fd = undefined;
    try {
      closeSync(fd);
    } catch {
      // Already closed.
    }
  }
}
