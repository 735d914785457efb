/**
 * Edge reports through NATS JetStream (docs/fleet.md): every edge writes its {@link EdgeReport} under its name in
 * the KV bucket `of_edges`; control processes watch the bucket and answer propagation questions from it.
 *
 * This module takes an open `Kvm` and imports nothing from NATS at run time, so only the fleet roles (which load
 * the NATS client lazily) ever load it.
 */
import type { KV, Kvm, KvEntry } from '@nats-io/kv';
import { z } from 'zod';
import { EDGE_NAME_PATTERN, ReportedPropagationView, type EdgeReport, type EdgeVersions } from './propagation.js';
import { EdgeReporter, type EdgeReportSink } from './propagation-report.js';

export const EDGES_BUCKET = 'of_edges';
/** A report lists every store and function an edge serves; this is far above any real one. */
export const MAX_EDGE_REPORT_BYTES = 256 * 1024;
/** An edge that has not reported for this long is forgotten (it was not live long before). */
export const EDGE_REPORT_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * Opens the `of_edges` bucket, creating it when it does not exist yet (whoever comes first; `create` opens an
 * existing bucket as it is).
 */
export async function openEdgesBucket(kvm: Kvm, options: { replicas?: number } = {}): Promise<KV> {
  return kvm.create(EDGES_BUCKET, { history: 1, replicas: options.replicas ?? 1, maxValueSize: MAX_EDGE_REPORT_BYTES, ttl: EDGE_REPORT_TTL_MS });
}

/**
 * Writes an edge's reports into `of_edges`. The bucket is opened on the first publish (and again after a failed
 * open), so an edge that starts while NATS is away serves at once and reports once NATS is back.
 */
export class JetStreamReportSink implements EdgeReportSink {
  readonly #kvm: Kvm;
  readonly #replicas: number | undefined;
  #kv: Promise<KV> | undefined;

  constructor(kvm: Kvm, options: { replicas?: number } = {}) {
    this.#kvm = kvm;
    this.#replicas = options.replicas;
  }

  async publish(report: EdgeReport): Promise<void> {
    this.#kv ??= openEdgesBucket(this.#kvm, { replicas: this.#replicas });
    let kv: KV;
    try {
      kv = await this.#kv;
    } catch (err) {
      this.#kv = undefined;
      throw err;
    }
    await kv.put(report.name, JSON.stringify(report));
  }
}

const isoDate = z.string().refine((s) => Number.isFinite(Date.parse(s)), 'an ISO-8601 date');
const applied = z.record(z.string().min(1).max(1024), z.object({ version: z.number().int().min(0), appliedAt: isoDate }));
const reportSchema = z.object({
  name: z.string().regex(EDGE_NAME_PATTERN),
  startedAt: isoDate,
  lastSeen: isoDate,
  stores: applied,
  functions: applied,
});

/** A report read from the bucket, or undefined when it is not one (its key must be its name). */
export function parseEdgeReport(entry: Pick<KvEntry, 'key' | 'value'>): EdgeReport | undefined {
  if (entry.value.length > MAX_EDGE_REPORT_BYTES) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(entry.value).toString('utf8'));
  } catch {
    return undefined;
  }
  const parsed = reportSchema.safeParse(raw);
  if (!parsed.success || parsed.data.name !== entry.key) return undefined;
  return parsed.data;
}

export interface JetStreamPropagationViewOptions {
  now?: () => number;
  /** Told when the watch of the bucket fails (it is restarted). */
  onError?: (err: unknown) => void;
  /** Wait before restarting a failed watch. Default 250 ms. */
  retryMs?: number;
}

/**
 * The fleet's propagation as the `of_edges` bucket tells it: a watch keeps the latest report of every edge in
 * memory, and waits are re-checked on every report.
 */
export class JetStreamPropagationView extends ReportedPropagationView {
  readonly #kv: KV;
  readonly #reports = new Map<string, { revision: number; report: EdgeReport }>();
  readonly #options: JetStreamPropagationViewOptions;
  #watch: { stop(): void } | undefined;
  #closed = false;

  private constructor(kv: KV, options: JetStreamPropagationViewOptions) {
    super(options.now);
    this.#kv = kv;
    this.#options = options;
  }

  /** Opens (or creates) the bucket, loads every report, then follows changes. */
  static async open(kvm: Kvm, options: JetStreamPropagationViewOptions & { replicas?: number } = {}): Promise<JetStreamPropagationView> {
    const view = new JetStreamPropagationView(await openEdgesBucket(kvm, { replicas: options.replicas }), options);
    await view.#loadAll();
    void view.#follow();
    return view;
  }

  override close(): void {
    this.#closed = true;
    this.#watch?.stop();
    super.close();
  }

  protected reports(): EdgeReport[] {
    return [...this.#reports.values()].map((r) => r.report);
  }

  /** Applies one bucket entry if it is newer than what is held. */
  #apply(entry: KvEntry): void {
    const held = this.#reports.get(entry.key);
    if (held !== undefined && held.revision >= entry.revision) return;
    if (entry.operation !== 'PUT') {
      this.#reports.delete(entry.key);
    } else {
      const report = parseEdgeReport(entry);
      if (report === undefined) return;
      this.#reports.set(entry.key, { revision: entry.revision, report });
    }
    this.reportsChanged();
  }

  /** The latest value of every key, read directly (the watch may still be delivering them). */
  async #loadAll(): Promise<void> {
    const keys: string[] = [];
    for await (const key of await this.#kv.keys()) keys.push(key);
    for (const key of keys) {
      const entry = await this.#kv.get(key);
      if (entry !== null) this.#apply(entry);
    }
  }

  /** Follows the bucket until closed; a watch that ends (a lost connection) is started again. */
  async #follow(): Promise<void> {
    while (!this.#closed) {
      try {
        // A new watch delivers the latest value of every key first, so nothing written in between is missed.
        const iterator = await this.#kv.watch();
        this.#watch = iterator;
        if (this.#closed) iterator.stop();
        for await (const entry of iterator) this.#apply(entry);
      } catch (err) {
        if (!this.#closed) this.#options.onError?.(err);
      }
      if (!this.#closed) await new Promise<void>((resolve) => setTimeout(resolve, this.#options.retryMs ?? 250).unref());
    }
  }
}

/**
 * For the edge role: a started {@link EdgeReporter} writing to `of_edges` (it does not wait for NATS). Call
 * `applied()` after each change the edge applies, `close()` on shutdown. Publish failures (NATS away) go to
 * `onError` and are retried by the heartbeat.
 */
export function startEdgeReporting(
  kvm: Kvm,
  options: { name: string; versions: () => EdgeVersions; replicas?: number; onError?: (err: unknown) => void },
): EdgeReporter {
  const reporter = new EdgeReporter({
    name: options.name,
    versions: options.versions,
    sink: new JetStreamReportSink(kvm, { replicas: options.replicas }),
    onError: options.onError,
  });
  reporter.start();
  return reporter;
}
