/**
 * An edge's reports of what it serves (docs/fleet.md): the edge calls `applied()` after it applies a change; the
 * reporter publishes a fresh {@link EdgeReport} to its sink at most every `coalesceMs` (100 ms) — at once when it
 * has been quiet that long — and every `heartbeatMs` (1 s) regardless, so that readers can tell a live edge from a
 * dead one. One publish is in flight at a time; a failed one (NATS away) is retried by the next heartbeat.
 */
import { openFrontError } from '../errors.js';
import { EDGE_NAME_PATTERN, type EdgeReport, type EdgeVersions } from './propagation.js';

/** Where reports go: the `of_edges` bucket in fleet mode (propagation-jetstream.ts), memory in tests. */
export interface EdgeReportSink {
  publish(report: EdgeReport): Promise<void>;
}

export interface EdgeReporterOptions {
  /** The edge's name (`^[a-zA-Z0-9_-]{1,64}$`), unique in the fleet. */
  name: string;
  /** What the edge serves now; called for every report. */
  versions: () => EdgeVersions;
  sink: EdgeReportSink;
  /** Least time between two reports. Default 100 ms. */
  coalesceMs?: number;
  /** Most time between two reports. Default 1000 ms. */
  heartbeatMs?: number;
  now?: () => number;
  /** Told when a publish fails (default: ignored; the next heartbeat retries). */
  onError?: (err: unknown) => void;
}

export const DEFAULT_REPORT_COALESCE_MS = 100;
export const DEFAULT_REPORT_HEARTBEAT_MS = 1000;

export class EdgeReporter {
  readonly name: string;
  readonly #options: EdgeReporterOptions;
  readonly #now: () => number;
  readonly #coalesceMs: number;
  readonly #heartbeatMs: number;
  readonly #startedAt: string;
  #lastPublish = Number.NEGATIVE_INFINITY;
  #inFlight: Promise<void> | undefined;
  /** A change arrived that no publish has covered yet. */
  #dirty = false;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #published = 0;

  constructor(options: EdgeReporterOptions) {
    if (!EDGE_NAME_PATTERN.test(options.name)) {
      throw openFrontError('CONFIG_INVALID', `The edge name "${options.name.slice(0, 80)}" must be 1 to 64 letters, digits, "-" or "_"`);
    }
    this.name = options.name;
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#coalesceMs = options.coalesceMs ?? DEFAULT_REPORT_COALESCE_MS;
    this.#heartbeatMs = options.heartbeatMs ?? DEFAULT_REPORT_HEARTBEAT_MS;
    this.#startedAt = new Date(this.#now()).toISOString();
  }

  /** Reports published so far. */
  get published(): number {
    return this.#published;
  }

  /** Publishes the first report and starts the heartbeat. */
  start(): void {
    this.applied();
  }

  /** The edge applied a change: report it within `coalesceMs`. */
  applied(): void {
    if (this.#closed) return;
    this.#dirty = true;
    this.#schedule();
  }

  /** The report as it would be published now. */
  report(): EdgeReport {
    return { name: this.name, startedAt: this.#startedAt, lastSeen: new Date(this.#now()).toISOString(), ...this.#options.versions() };
  }

  /** Publishes now (after any publish in flight); resolves when it is done. */
  async flush(): Promise<void> {
    if (this.#inFlight) await this.#inFlight;
    if (this.#closed) return;
    this.#dirty = true;
    await this.#publish();
  }

  /** Stops reporting (the edge's last report ages until readers see it as not live). */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#inFlight) await this.#inFlight;
  }

  #schedule(): void {
    if (this.#closed || this.#inFlight) return;
    const due = this.#dirty ? this.#lastPublish + this.#coalesceMs : this.#lastPublish + this.#heartbeatMs;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        void this.#publish();
      },
      Math.max(0, due - this.#now()),
    );
    this.#timer.unref();
  }

  #publish(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#inFlight) return this.#inFlight;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#dirty = false;
    this.#lastPublish = this.#now();
    const publishing = (async () => {
      try {
        await this.#options.sink.publish(this.report());
        this.#published++;
      } catch (err) {
        this.#options.onError?.(err);
      }
    })();
    this.#inFlight = publishing.finally(() => {
      this.#inFlight = undefined;
      this.#schedule();
    });
    return this.#inFlight;
  }
}
