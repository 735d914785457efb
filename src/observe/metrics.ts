/**
 * Prometheus metrics of one node (names and labels: docs/observability.md, "Metrics"). The edge's metrics are counted
 * from each request's facts (the edge's observer) or from decision traces (a subscriber of the trace channel); the
 * rest come from gauges read when /metrics is scraped, plus prom-client's process metrics (event-loop lag, heap,
 * GC). One {@link Registry} per node, so several nodes in one process (tests) never share counters.
 */
import type { Channel } from 'node:diagnostics_channel';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { EdgeTrace } from './decision-trace.js';
import { factsOfTrace, type RequestFacts } from './request-facts.js';
import { FastCounter, FastHistogram } from './metric-cells.js';

/** Bucket bounds of ComputeUtilization (0–100, CloudFront's scale). */
export const COMPUTE_UTILIZATION_BUCKETS = [5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100];
/** Origin latency bounds in seconds. */
export const ORIGIN_LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface NodeMetricsOptions {
  /** Store name for a store id. */
  storeName: (storeId: string) => string | undefined;
  /** Every store and the version this node serves. */
  storeVersions?: () => Iterable<{ store: string; version: number }>;
  /** The response cache's size and eviction count. */
  cacheStats?: () => { bytes: number; entries: number; evictions: number };
  /** Open live streams and records dropped for slow consumers. */
  streamStats?: () => { open: number; dropped: number };
  /** V8 heap in use by each LIVE function's isolates. */
  isolateHeap?: () => Promise<Iterable<{ function: string; version: string; bytes: number }>>;
  /** Off in tests that count exact values of everything; default on. */
  processMetrics?: boolean;
}

function statusClass(status: number): string {
  return status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : 'other';
}

/** A label set and the key its cells are found by. */
interface LabelCell {
  key: string;
  labels: Record<string, string>;
}

/** Per distribution: its own label set, and one per status class (index: hundreds digit, 0 for any other status). */
interface DistributionLabels {
  distribution: LabelCell;
  byClass: LabelCell[];
}

export class NodeMetrics {
  readonly registry = new Registry();
  readonly #storeName: (id: string) => string | undefined;
  readonly #storeNames = new Map<string, string>();
  readonly #channels: Channel[] = [];
  // Label sets made once per distribution, function version and store: counting a request allocates no labels.
  readonly #distributionLabels = new Map<string, DistributionLabels>();
  readonly #functionLabels = new Map<string, Map<string, LabelCell>>();
  readonly #readLabels = new Map<string, [hit: LabelCell, miss: LabelCell]>();

  readonly functionInvocations: FastCounter;
  readonly functionValidationErrors: FastCounter;
  readonly functionExecutionErrors: FastCounter;
  readonly computeUtilization: FastHistogram;
  readonly kvsReads: FastCounter;
  readonly cacheHits: FastCounter;
  readonly cacheMisses: FastCounter;
  readonly originLatency: FastHistogram;
  readonly originErrors: FastCounter;
  readonly originFailovers: FastCounter;
  readonly requests: FastCounter;

  readonly #onTrace = (message: unknown): void => this.record(message as EdgeTrace);

  constructor(options: NodeMetricsOptions) {
    const r = this.registry;
    this.#storeName = options.storeName;
    this.functionInvocations = new FastCounter(r, 'openfront_function_invocations_total', 'Function invocations at the edge, by function and LIVE version');
    this.functionValidationErrors = new FastCounter(
      r,
      'openfront_function_validation_errors_total',
      'Invocations whose result failed validation (FunctionValidationError)',
    );
    this.functionExecutionErrors = new FastCounter(
      r,
      'openfront_function_execution_errors_total',
      'Invocations that threw or exceeded a limit (FunctionExecutionError)',
    );
    this.computeUtilization = new FastHistogram(
      r,
      'openfront_function_compute_utilization',
      'ComputeUtilization of each invocation (0-100, share of the CPU budget)',
      COMPUTE_UTILIZATION_BUCKETS,
    );
    this.kvsReads = new FastCounter(r, 'openfront_kvs_reads_total', 'KeyValueStore reads made by functions, by store and result (hit, miss)');
    this.cacheHits = new FastCounter(r, 'openfront_cache_hits_total', 'Edge cache lookups answered from the cache, by distribution');
    this.cacheMisses = new FastCounter(r, 'openfront_cache_misses_total', 'Edge cache lookups that went to the origin, by distribution');
    this.originLatency = new FastHistogram(
      r,
      'openfront_origin_request_duration_seconds',
      'Time to an origin answer (all attempts), by origin and status class',
      ORIGIN_LATENCY_BUCKETS,
    );
    this.originErrors = new FastCounter(r, 'openfront_origin_errors_total', 'Origin attempts that failed to connect or timed out, by origin and reason');
    this.originFailovers = new FastCounter(
      r,
      'openfront_origin_failovers_total',
      'Requests an origin group retried on its secondary origin, by the origin that failed',
    );
    this.requests = new FastCounter(r, 'openfront_edge_requests_total', 'Viewer requests by distribution and status class');

    if (options.storeVersions) {
      const versions = options.storeVersions;
      new Gauge({
        name: 'openfront_kvs_store_version',
        help: 'Version of each KeyValueStore this node serves',
        labelNames: ['store'],
        registers: [r],
        collect() {
          this.reset();
          for (const { store, version } of versions()) this.set({ store }, version);
        },
      });
    }
    if (options.cacheStats) {
      const stats = options.cacheStats;
      new Gauge({
        name: 'openfront_cache_bytes',
        help: 'Bytes held by the edge response cache',
        registers: [r],
        collect() {
          this.set(stats().bytes);
        },
      });
      new Gauge({
        name: 'openfront_cache_entries',
        help: 'Objects held by the edge response cache',
        registers: [r],
        collect() {
          this.set(stats().entries);
        },
      });
      // A counter by nature, read from the cache when scraped.
      new Gauge({
        name: 'openfront_cache_evictions_total',
        help: 'Objects the edge cache evicted to stay within its byte budget',
        registers: [r],
        collect() {
          this.set(stats().evictions);
        },
      });
    }
    if (options.streamStats) {
      const stats = options.streamStats;
      new Gauge({
        name: 'openfront_tail_streams',
        help: 'Open live decision streams (openfront tail)',
        registers: [r],
        collect() {
          this.set(stats().open);
        },
      });
      new Gauge({
        name: 'openfront_tail_dropped_records_total',
        help: 'Decisions dropped because a live stream consumer read too slowly',
        registers: [r],
        collect() {
          this.set(stats().dropped);
        },
      });
    }
    if (options.isolateHeap) {
      const heap = options.isolateHeap;
      new Gauge({
        name: 'openfront_function_isolate_heap_bytes',
        help: "V8 heap in use by each LIVE function's isolates",
        labelNames: ['function', 'version'],
        registers: [r],
        async collect() {
          const usage = await heap();
          this.reset();
          for (const { function: name, version, bytes } of usage) this.set({ function: name, version }, bytes);
        },
      });
    }
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: r });
  }

  /** Follows an edge's trace channel until {@link close}. */
  follow(channel: Channel): void {
    channel.subscribe(this.#onTrace);
    this.#channels.push(channel);
  }

  /** Counts one request's trace (consumers of the trace channel; the edge's observer calls {@link count}). */
  record(trace: EdgeTrace): void {
    this.count(factsOfTrace(trace));
  }

  /** Counts one request: called by the edge for every request, so it only looks up cells and adds. */
  count(facts: RequestFacts): void {
    const dist = this.#distributionLabelsOf(facts.distributionId ?? '-');
    const status = facts.status;
    const byClass = dist.byClass[status >= 100 && status < 600 ? Math.floor(status / 100) : 0];
    this.requests.inc(byClass.key, byClass.labels);
    const functions = facts.functions;
    if (functions !== undefined) {
      for (let f = 0; f < functions.length; f++) {
        const fn = functions[f];
        const result = fn.result;
        const { key, labels } = this.#functionLabelsOf(fn.name, fn.version);
        this.functionInvocations.inc(key, labels);
        if (result.kind === 'error') {
          if (result.error?.errorClass === 'validation') this.functionValidationErrors.inc(key, labels);
          else this.functionExecutionErrors.inc(key, labels);
        }
        this.computeUtilization.observe(key, labels, result.computeUtilization);
        const reads = result.kvsReads;
        for (let i = 0; i < reads.length; i++) {
          const read = reads[i];
          const cell = this.#readLabelsOf(read.storeId)[read.hit ? 0 : 1];
          this.kvsReads.inc(cell.key, cell.labels);
        }
      }
    }
    // Function errors in viewer-response also end a request; nothing more to count for the cache and origin.
    if (facts.cacheHit !== undefined) {
      if (facts.cacheHit) this.cacheHits.inc(dist.distribution.key, dist.distribution.labels);
      else this.cacheMisses.inc(dist.distribution.key, dist.distribution.labels);
    }
    const origin = facts.origin;
    if (origin !== undefined) {
      const attempts = origin.attempts;
      for (let i = 0; i < attempts.length; i++) {
        const attempt = attempts[i];
        if (attempt.error !== undefined) this.originErrors.inc(`${attempt.originId}\0${attempt.error}`, { origin: attempt.originId, reason: attempt.error });
        if (i < attempts.length - 1) this.originFailovers.inc(attempt.originId, { origin: attempt.originId });
      }
      const last = attempts[attempts.length - 1];
      if (facts.originMicros !== undefined && last?.status !== undefined && !facts.collapsed) {
        const ocls = statusClass(last.status);
        this.originLatency.observe(`${origin.id}\0${ocls}`, { origin: origin.id, status_class: ocls }, facts.originMicros / 1e6);
      }
    }
  }

  /** The exposition text and its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  close(): void {
    for (const channel of this.#channels) channel.unsubscribe(this.#onTrace);
    this.#channels.length = 0;
  }

  #distributionLabelsOf(distribution: string): DistributionLabels {
    let found = this.#distributionLabels.get(distribution);
    if (found === undefined) {
      const byClass = ['other', '1xx', '2xx', '3xx', '4xx', '5xx'].map((cls) => ({
        key: `${distribution}\0${cls}`,
        labels: { distribution, status_class: cls },
      }));
      found = { distribution: { key: distribution, labels: { distribution } }, byClass };
      this.#distributionLabels.set(distribution, found);
    }
    return found;
  }

  #functionLabelsOf(name: string, version: string): LabelCell {
    let versions = this.#functionLabels.get(name);
    if (versions === undefined) this.#functionLabels.set(name, (versions = new Map()));
    let found = versions.get(version);
    if (found === undefined) {
      found = { key: `${name}\0${version}`, labels: { function: name, version } };
      versions.set(version, found);
    }
    return found;
  }

  #readLabelsOf(storeId: string): [LabelCell, LabelCell] {
    let found = this.#readLabels.get(storeId);
    if (found === undefined) {
      const store = this.#nameOf(storeId);
      found = [
        { key: `${storeId}\0hit`, labels: { store, result: 'hit' } },
        { key: `${storeId}\0miss`, labels: { store, result: 'miss' } },
      ];
      this.#readLabels.set(storeId, found);
    }
    return found;
  }

  #nameOf(storeId: string): string {
    let name = this.#storeNames.get(storeId);
    if (name === undefined) {
      name = this.#storeName(storeId) ?? storeId;
      this.#storeNames.set(storeId, name);
    }
    return name;
  }
}
