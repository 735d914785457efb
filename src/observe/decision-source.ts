/**
 * Where the API gets decisions from. Today one in-process edge ({@link LocalDecisionSource}: a subscriber of the
 * edge's trace channel with a bounded ring of recent traces); in fleet mode several edges, merged by
 * {@link MergedDecisionSource} — every record names its edge, so a merged stream stays readable.
 */
import type { Channel } from 'node:diagnostics_channel';
import { toDecisionRecord, type DecisionRecord, type DecisionRecordOptions } from './decision.js';
import type { EdgeTrace } from './decision-trace.js';
import type { DecisionFilter } from './filter.js';
import { RingBuffer } from './ring-buffer.js';

/** A live subscription; `close()` stops the callbacks. */
export interface DecisionSubscription {
  close(): void;
}

export interface DecisionSource {
  /** Recent decisions matching `filter`, newest first, at most `limit`. */
  recent(filter: DecisionFilter, limit: number): DecisionRecord[];
  /** One recent decision by request id (the `x-openfront-request-id` header). */
  get(requestId: string): DecisionRecord | undefined;
  /** Calls `onRecord` for each new matching decision (sampling applied) until closed. */
  subscribe(filter: DecisionFilter, onRecord: (record: DecisionRecord) => void): DecisionSubscription;
}

/** Decisions kept per edge unless configured otherwise. */
export const DEFAULT_RING_CAPACITY = 1000;

export interface LocalDecisionSourceOptions extends DecisionRecordOptions {
  /** A trace channel to follow (`openfront:edge:request`); without one, traces come through {@link LocalDecisionSource.offer}. */
  channel?: Channel;
  /**
   * How many full decisions per second {@link LocalDecisionSource.wantsTrace} asks the edge for while nobody is
   * tailing (the first ones of each second; docs/observability.md, "Cost"). Default: every request.
   */
  perSecond?: number;
  /** How many recent decisions to keep (default {@link DEFAULT_RING_CAPACITY}). */
  capacity?: number;
  /** Which traces belong to this source (default: all on the channel). */
  accept?: (trace: EdgeTrace) => boolean;
}

interface Subscriber {
  filter: DecisionFilter;
  onRecord: (record: DecisionRecord) => void;
}

/**
 * The decisions of the edge in this process. The ring holds raw traces: a record (with its redaction) is only built
 * when somebody reads it or a live subscriber wants it, so keeping a trace costs a pointer store.
 */
export class LocalDecisionSource implements DecisionSource {
  readonly #ring: RingBuffer<EdgeTrace>;
  readonly #options: LocalDecisionSourceOptions;
  readonly #subscribers = new Set<Subscriber>();
  readonly #subscriberWatchers = new Set<(count: number) => void>();
  /** Full traces still wanted this second; refilled by #refill. */
  #budget: number;
  readonly #refill: ReturnType<typeof setInterval> | undefined;
  readonly #onTrace = (message: unknown): void => this.offer(message as EdgeTrace);

  constructor(options: LocalDecisionSourceOptions) {
    this.#options = options;
    this.#ring = new RingBuffer(options.capacity ?? DEFAULT_RING_CAPACITY);
    const perSecond = options.perSecond;
    if (perSecond !== undefined && !(Number.isInteger(perSecond) && perSecond >= 0)) {
      throw new RangeError(`decisions per second must be a non-negative integer, got ${perSecond}`);
    }
    this.#budget = perSecond ?? Infinity;
    if (perSecond !== undefined) {
      // A counter reset once a second: deciding costs the edge a decrement, never a clock read.
      this.#refill = setInterval(() => (this.#budget = perSecond), 1000);
      this.#refill.unref();
    }
    options.channel?.subscribe(this.#onTrace);
  }

  /**
   * Whether the edge should trace the request arriving now: always while a live stream is open, else within this
   * second's budget. A request not traced still reaches the ring if it fails ({@link offer} of a partial trace).
   */
  wantsTrace(): boolean {
    return this.#subscribers.size > 0 || this.#budget-- > 0;
  }

  /** Keeps one finished trace and hands it to the live streams. */
  offer(trace: EdgeTrace): void {
    if (this.#options.accept !== undefined && !this.#options.accept(trace)) return;
    this.#ring.push(trace);
    if (this.#subscribers.size === 0) return;
    let record: DecisionRecord | undefined;
    for (const subscriber of this.#subscribers) {
      if (!subscriber.filter.matchesTrace(trace)) continue;
      record ??= toDecisionRecord(trace, this.#options);
      subscriber.onRecord(record);
    }
  }

  get capacity(): number {
    return this.#ring.capacity;
  }

  /** How many decisions the ring holds now (never more than its capacity). */
  get size(): number {
    return this.#ring.size;
  }

  recent(filter: DecisionFilter, limit: number): DecisionRecord[] {
    const out: DecisionRecord[] = [];
    for (const trace of this.#ring.newestFirst()) {
      if (out.length >= limit) break;
      const record = toDecisionRecord(trace, this.#options);
      if (filter.matchesRecord(record)) out.push(record);
    }
    return out;
  }

  get(requestId: string): DecisionRecord | undefined {
    for (const trace of this.#ring.newestFirst()) if (trace.requestId === requestId) return toDecisionRecord(trace, this.#options);
    return undefined;
  }

  subscribe(filter: DecisionFilter, onRecord: (record: DecisionRecord) => void): DecisionSubscription {
    const subscriber: Subscriber = { filter, onRecord };
    this.#subscribers.add(subscriber);
    this.#subscribersChanged();
    return {
      close: () => {
        if (this.#subscribers.delete(subscriber)) this.#subscribersChanged();
      },
    };
  }

  /**
   * Calls `listener` with the number of live subscribers whenever it changes (edge workers trace every request while
   * somebody tails, as {@link wantsTrace} does here). Returns the unsubscribe.
   */
  watchSubscribers(listener: (count: number) => void): () => void {
    this.#subscriberWatchers.add(listener);
    return () => this.#subscriberWatchers.delete(listener);
  }

  #subscribersChanged(): void {
    for (const watcher of this.#subscriberWatchers) watcher(this.#subscribers.size);
  }

  /** Stops listening and forgets the ring. */
  close(): void {
    this.#options.channel?.unsubscribe(this.#onTrace);
    if (this.#refill !== undefined) clearInterval(this.#refill);
    this.#subscribers.clear();
    this.#subscriberWatchers.clear();
    this.#ring.clear();
  }
}

/** Several edges as one source (fleet mode): recent decisions merged by time, one live stream over all of them. */
export class MergedDecisionSource implements DecisionSource {
  constructor(readonly sources: readonly DecisionSource[]) {}

  recent(filter: DecisionFilter, limit: number): DecisionRecord[] {
    return this.sources
      .flatMap((s) => s.recent(filter, limit))
      .sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0))
      .slice(0, limit);
  }

  get(requestId: string): DecisionRecord | undefined {
    for (const source of this.sources) {
      const found = source.get(requestId);
      if (found !== undefined) return found;
    }
    return undefined;
  }

  subscribe(filter: DecisionFilter, onRecord: (record: DecisionRecord) => void): DecisionSubscription {
    const subscriptions = this.sources.map((s) => s.subscribe(filter, onRecord));
    return { close: () => subscriptions.forEach((s) => s.close()) };
  }
}
