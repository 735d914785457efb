/**
 * Live decision streams (`openfront tail`) as server-sent events, bounded: at most `maxStreams` open at once, and a
 * consumer that reads too slowly loses records (counted, and told with a `dropped` event) instead of making the
 * process buffer without end.
 */
import { OpenFrontError } from '../errors.js';
import type { DecisionRecord } from './decision.js';
import type { DecisionSource } from './decision-source.js';
import type { DecisionFilter } from './filter.js';

export interface DecisionStreamsOptions {
  /** Default 16. */
  maxStreams?: number;
  /** Bytes a stream may have queued in its socket before new records are dropped. Default 1 MiB. */
  maxBufferedBytes?: number;
  /** Comment line sent this often so proxies keep the stream open. Default 15 s. */
  heartbeatMs?: number;
}

export const DEFAULT_MAX_STREAMS = 16;
export const DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024;

/** The part of a response a stream writes to. */
export interface StreamTarget {
  write(chunk: string): boolean;
  readonly writableLength: number;
  readonly destroyed: boolean;
  once(event: 'close', listener: () => void): unknown;
}

export class DecisionStreams {
  readonly maxStreams: number;
  readonly maxBufferedBytes: number;
  readonly #heartbeatMs: number;
  readonly #source: DecisionSource;
  #open = 0;
  #dropped = 0;
  readonly #closers = new Set<() => void>();

  constructor(source: DecisionSource, options: DecisionStreamsOptions = {}) {
    this.#source = source;
    this.maxStreams = options.maxStreams ?? DEFAULT_MAX_STREAMS;
    this.maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
    this.#heartbeatMs = options.heartbeatMs ?? 15_000;
  }

  /** Open streams and records dropped so far over all streams. */
  stats(): { open: number; dropped: number } {
    return { open: this.#open, dropped: this.#dropped };
  }

  /** Throws TOO_MANY_STREAMS when the limit is reached; call before answering 200. */
  reserve(): () => void {
    if (this.#open >= this.maxStreams) {
      throw new OpenFrontError(
        'TOO_MANY_STREAMS',
        `${this.maxStreams} live decision streams are already open; close one or raise observability.tail.maxStreams`,
      );
    }
    this.#open++;
    let released = false;
    return () => {
      if (!released) {
        released = true;
        this.#open--;
      }
    };
  }

  /** Streams matching decisions to `target` as SSE until the target closes; `release` comes from {@link reserve}. */
  attach(target: StreamTarget, filter: DecisionFilter, release: () => void, hello: Record<string, unknown> = {}): void {
    let pendingDrops = 0;
    const send = (text: string) => target.write(text);
    send(`event: hello\ndata: ${JSON.stringify({ ...hello, filter: filter.spec })}\n\n`);
    const subscription = this.#source.subscribe(filter, (record: DecisionRecord) => {
      if (target.destroyed) return;
      if (target.writableLength > this.maxBufferedBytes) {
        pendingDrops++;
        this.#dropped++;
        return;
      }
      if (pendingDrops > 0) {
        send(`event: dropped\ndata: ${JSON.stringify({ count: pendingDrops })}\n\n`);
        pendingDrops = 0;
      }
      send(`id: ${record.requestId}\ndata: ${JSON.stringify(record)}\n\n`);
    });
    const heartbeat = setInterval(() => {
      if (target.writableLength <= this.maxBufferedBytes) send(': keep-alive\n\n');
    }, this.#heartbeatMs);
    heartbeat.unref();
    const close = () => {
      clearInterval(heartbeat);
      subscription.close();
      release();
      this.#closers.delete(close);
    };
    this.#closers.add(close);
    target.once('close', close);
    // A viewer that hung up before the stream began never emits 'close' again: free its slot now.
    if (target.destroyed) close();
  }

  /** Ends every open stream (server shutdown). */
  closeAll(): void {
    for (const close of [...this.#closers]) close();
  }
}
