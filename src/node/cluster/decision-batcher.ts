/**
 * How an edge worker hands its decision traces to the primary (docs/deploy.md, "What the primary sees"): in
 * batches over IPC, with every bound fixed up front. A batch goes when it is full or `flushMs` after its first
 * record; at most `maxInFlight` batches wait for the primary's acknowledgement, and at most `maxQueued` records wait
 * behind them. A record that finds the queue full is dropped and counted, so a slow or stuck primary costs the
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
}

export const DECISION_BATCH_DEFAULTS = { maxBatch: 128, maxQueued: 1024, maxInFlight: 2, flushMs: 25 } as const;

export class DecisionBatcher<T> {
  readonly #send: (batch: T[]) => void;
  readonly maxBatch: number;
  readonly maxQueued: number;
  readonly maxInFlight: number;
  readonly #flushMs: number;
  #queue: T[] = [];
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

  offer(record: T): void {
    if (this.#closed) return;
    if (this.#queue.length >= this.maxQueued) {
      this.#dropped++;
      return;
    }
    this.#queue.push(record);
    if (this.#queue.length >= this.maxBatch) this.flush();
    else this.#timer ??= setTimeout(() => this.flush(), this.#flushMs);
  }

  /** The primary has taken one batch: the next may go. */
  acknowledge(): void {
    if (this.#inFlight > 0) this.#inFlight--;
    if (this.#queue.length > 0) this.flush();
  }

  /** Sends what is queued, as far as the in-flight bound allows; the rest waits for an acknowledgement. */
  flush(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    while (this.#queue.length > 0 && this.#inFlight < this.maxInFlight) {
      const batch = this.#queue.length <= this.maxBatch ? this.#queue : this.#queue.slice(0, this.maxBatch);
      this.#queue = batch === this.#queue ? [] : this.#queue.slice(this.maxBatch);
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
  }
}

function positive(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}
