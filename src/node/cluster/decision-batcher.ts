/**
 * How an edge worker hands its decision traces to the primary (docs/deploy.md, "What the primary sees"): in
 * batches over IPC, with every bound fixed up front. A batch goes when it is full or `flushMs` after its first
 * record; at most `maxInFlight` batches wait for the primary's acknowledgement, and at most `maxQueued` records wait
 * behind them, all of them together at most `maxBytes` (as `sizeOf` estimates them: a trace's size depends on its
 * headers and function logs). A record that finds no room is dropped and counted, so a slow or stuck primary costs the
 * worker a counter (the `openfront_edge_worker_decisions_dropped_total` metric), never memory.
 */

export interface DecisionBatcherOptions<T> {
  /** Sends one batch; the primary's acknowledgement of it must be reported with {@link DecisionBatcher.acknowledge}. */
  send(batch: T[]): void;
  /** Records per batch (default 128). */
  maxBatch?: number;
  /** Records waiting to be sent, beyond those in flight (default 1024). */
  maxQueued?: number;
  /** Batches sent and not yet acknowledged (default 2). */
  maxInFlight?: number;
  /** How long the first record of a batch waits for more (default 25 ms). */
  flushMs?: number;
  /** Bytes of the records queued and in flight together, as {@link sizeOf} counts them (default 4 MiB). */
  maxBytes?: number;
  /** A record's size in bytes, roughly (default 1: `maxBytes` then counts records). */
  sizeOf?: (record: T) => number;
}

export const DECISION_BATCH_DEFAULTS = { maxBatch: 128, maxQueued: 1024, maxInFlight: 2, flushMs: 25, maxBytes: 4 * 1024 * 1024 } as const;

export class DecisionBatcher<T> {
  readonly #send: (batch: T[]) => void;
  readonly maxBatch: number;
  readonly maxQueued: number;
  readonly maxInFlight: number;
  readonly maxBytes: number;
  readonly #flushMs: number;
  readonly #sizeOf: (record: T) => number;
  #queue: T[] = [];
  /** The size of each queued record, as {@link offer} measured it. */
  #sizes: number[] = [];
  #queuedBytes = 0;
  /** Bytes of each batch in flight, oldest first (the primary acknowledges them in the order they were sent). */
  #inFlightBytes: number[] = [];
  #inFlight = 0;
  #dropped = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(options: DecisionBatcherOptions<T>) {
    this.#send = options.send;
    this.maxBatch = positive(options.maxBatch ?? DECISION_BATCH_DEFAULTS.maxBatch, 'maxBatch');
    this.maxQueued = positive(options.maxQueued ?? DECISION_BATCH_DEFAULTS.maxQueued, 'maxQueued');
    this.maxInFlight = positive(options.maxInFlight ?? DECISION_BATCH_DEFAULTS.maxInFlight, 'maxInFlight');
    this.#flushMs = options.flushMs ?? DECISION_BATCH_DEFAULTS.flushMs;
    this.maxBytes = positive(options.maxBytes ?? DECISION_BATCH_DEFAULTS.maxBytes, 'maxBytes');
    this.#sizeOf = options.sizeOf ?? (() => 1);
  }

  /** Records dropped since start because the queue was full. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Records waiting to be sent (not counting batches in flight). */
  get queued(): number {
    return this.#queue.length;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Bytes held now: queued and in flight. */
  get bytes(): number {
    let bytes = this.#queuedBytes;
    for (const b of this.#inFlightBytes) bytes += b;
    return bytes;
  }

  offer(record: T): void {
    if (this.#closed) return;
    const size = this.#sizeOf(record);
    if (this.#queue.length >= this.maxQueued || this.bytes + size > this.maxBytes) {
      this.#dropped++;
      return;
    }
    this.#queue.push(record);
    this.#sizes.push(size);
    this.#queuedBytes += size;
    if (this.#queue.length >= this.maxBatch) this.flush();
    else this.#timer ??= setTimeout(() => this.flush(), this.#flushMs);
  }

  /** The primary has taken one batch: the next may go. */
  acknowledge(): void {
    if (this.#inFlight > 0) {
      this.#inFlight--;
      this.#inFlightBytes.shift();
    }
    if (this.#queue.length > 0) this.flush();
  }

  /** Sends what is queued, as far as the in-flight bound allows; the rest waits for an acknowledgement. */
  flush(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    while (this.#queue.length > 0 && this.#inFlight < this.maxInFlight) {
      const batch = this.#queue.splice(0, this.maxBatch);
      let bytes = 0;
      for (const size of this.#sizes.splice(0, batch.length)) bytes += size;
      this.#queuedBytes -= bytes;
      this.#inFlightBytes.push(bytes);
      this.#inFlight++;
      this.#send(batch);
    }
  }

  /** Stops taking records and forgets the queue (the worker is going away). */
  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue = [];
    this.#sizes = [];
    this.#queuedBytes = 0;
  }
}

function positive(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}
