/**
 * Counters and histograms for the edge's hot path, registered in a prom-client {@link Registry} (which writes the
 * exposition format and adds the process metrics). prom-client's own metrics hash and validate their labels on every
 * `inc()`/`observe()`; here each label set is a plain object found by one string-keyed Map lookup, and the
 * exposition is built only when /metrics is read. Label sets are bounded by the caller (names from config and
 * registry, never from viewers).
 */
import type { Registry } from 'prom-client';

type Labels = Record<string, string>;

interface MetricValue {
  value: number;
  labels: Labels;
  metricName?: string;
}

/** The object shape prom-client's Registry reads from a metric. */
interface RegistrableMetric {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  aggregator: 'sum';
  get(): Promise<{ name: string; help: string; type: string; values: MetricValue[]; aggregator: 'sum' }>;
  reset(): void;
}

/** Lets a metric object sit in a prom-client registry next to prom-client's own. */
function register(registry: Registry, metric: RegistrableMetric): void {
  registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0]);
}

export class FastCounter implements RegistrableMetric {
  readonly type = 'counter' as const;
  readonly aggregator = 'sum' as const;
  readonly #cells = new Map<string, { labels: Labels; value: number }>();

  constructor(
    registry: Registry,
    readonly name: string,
    readonly help: string,
  ) {
    register(registry, this);
  }

  /** `key` must identify `labels` (e.g. their values joined with "\0"); `labels` is only read on first use. */
  inc(key: string, labels: Labels, by = 1): void {
    const cell = this.#cells.get(key);
    if (cell === undefined) this.#cells.set(key, { labels, value: by });
    else cell.value += by;
  }

  /** Current value for a label key (tests, summaries). */
  value(key: string): number {
    return this.#cells.get(key)?.value ?? 0;
  }

  async get() {
    const values = [...this.#cells.values()].map(({ labels, value }) => ({ labels, value }));
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  reset(): void {
    this.#cells.clear();
  }
}

interface HistogramCell {
  labels: Labels;
  counts: Float64Array;
  sum: number;
  count: number;
}

export class FastHistogram implements RegistrableMetric {
  readonly type = 'histogram' as const;
  readonly aggregator = 'sum' as const;
  readonly #cells = new Map<string, HistogramCell>();

  constructor(
    registry: Registry,
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
  ) {
    register(registry, this);
  }

  observe(key: string, labels: Labels, value: number): void {
    let cell = this.#cells.get(key);
    if (cell === undefined) {
      cell = { labels, counts: new Float64Array(this.buckets.length), sum: 0, count: 0 };
      this.#cells.set(key, cell);
    }
    // Non-cumulative here; made cumulative when exposed.
    const buckets = this.buckets;
    for (let i = 0; i < buckets.length; i++) {
      if (value <= buckets[i]) {
        cell.counts[i]++;
        break;
      }
    }
    cell.sum += value;
    cell.count++;
  }

  async get() {
    const values: MetricValue[] = [];
    for (const { labels, counts, sum, count } of this.#cells.values()) {
      let cumulative = 0;
      for (let i = 0; i < this.buckets.length; i++) {
        cumulative += counts[i];
        values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: String(this.buckets[i]) }, value: cumulative });
      }
      values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: '+Inf' }, value: count });
      values.push({ metricName: `${this.name}_sum`, labels, value: sum });
      values.push({ metricName: `${this.name}_count`, labels, value: count });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  reset(): void {
    this.#cells.clear();
  }
}
