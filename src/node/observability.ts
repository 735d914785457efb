/**
 * Wires one node's observability (docs/observability.md): the decision source and live streams behind the API's
 * decision routes, Prometheus metrics (the API's signed /metrics and an optional unsigned scrape listener), access
 * logs, and the signed debug header of `openfront explain`. The edge tells {@link NodeObservability.observer} about
 * every request: metrics count its facts, and the decision ring keeps the requests the observer asked the edge to
 * trace plus every 5xx (docs/observability.md, "Cost"). The access log follows the edge's trace channel.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AggregatorRegistry, Gauge, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import type { ObservabilityConfig } from '../config/types.js';
import type { RouteGroup } from '../control/http/router.js';
import { observeRouteGroup } from '../control/observe-api.js';
import type { EdgeDebug } from '../edge/debug.js';
import { edgeRequestChannel } from '../edge/trace.js';
import { AccessLog } from '../observe/access-log.js';
import { LocalDecisionSource } from '../observe/decision-source.js';
import type { EdgeTrace } from '../observe/decision-trace.js';
import { traceOfFacts, type EdgeObserver } from '../observe/request-facts.js';
import { DecisionStreams } from '../observe/live-stream.js';
import { NodeMetrics } from '../observe/metrics.js';
import type { RecordingSet } from '../observe/recording.js';
import { Redactor } from '../observe/redact.js';
import type { SqliteStores } from '../state/sqlite/stores.js';
import { edgeDebug } from './edge-debug.js';

export interface NodeObservabilityOptions {
  config: ObservabilityConfig;
  /** Store names and versions for the metrics. */
  stores: Pick<SqliteStores, 'getStore' | 'listStores'>;
  /** The secret of an active access key (debug headers are signed). */
  lookupSecret: (accessKeyId: string) => string | undefined;
  /** The edge's node id: decisions name it. */
  nodeId: string;
  /** The current edge's cache (the edge may be restarted; the node passes an indirection). */
  cacheStats: () => { bytes: number; entries: number; evictions: number };
  /** V8 heap in use by each LIVE function's isolates (the `openfront_function_isolate_heap_bytes` gauge). */
  isolateHeap?: () => Promise<Iterable<{ function: string; version: string; bytes: number }>>;
  /** Overrides `config.accessLog.path` ("-" for stdout; "" turns logging off). */
  accessLog?: string;
  /** Overrides `config.metrics.port`. */
  metricsPort?: number;
  /** `insecureNoAuth` API: explain's debug header is then refused (there is no key to verify it with). */
  insecureNoAuth?: boolean;
  now?: () => Date;
  /** Distributions whose requests are recorded for `openfront dry-run` (docs/safe-changes.md). */
  recordings?: RecordingSet;
}

export interface NodeObservability {
  decisions: LocalDecisionSource;
  streams: DecisionStreams;
  metrics?: NodeMetrics;
  /** `http://host:port` of the unsigned scrape listener, when one was started. */
  metricsUrl?: string;
  accessLog?: AccessLog;
  /** The API's decision and metrics routes. */
  routes: RouteGroup;
  /** What the edge needs to answer a signed debug header. */
  debug: EdgeDebug;
  /** What the edge tells about every request (pass it to `startEdge`). */
  observer: EdgeObserver;
  /** Where edge workers (`--workers`, docs/deploy.md) hand in what they saw. */
  workers: WorkerObservability;
  close(): Promise<void>;
}

/** The metrics of the edge workers for one scrape: those that answered in time, and which did not. */
export interface WorkerMetrics {
  answers: MetricObjectWithValues<MetricValue<string>>[][];
  workers: Array<{ index: number; pid: number; answered: boolean }>;
}

export interface WorkerObservability {
  /** The primary writes an access log: workers must trace every request. */
  readonly traceAll: boolean;
  /** Each worker's share of `decisions.perSecond` for `count` workers. */
  perSecondShare(count: number): number;
  /** A decision a worker forwarded: kept, streamed and logged as if this process's edge had made it. */
  offer(trace: EdgeTrace): void;
  /** Adds the workers' metrics to every scrape (summed: the same names and labels as one edge's). */
  scrapeAlso(source: () => Promise<WorkerMetrics>): void;
  /** Told `true` when the first live decision stream opens and `false` when the last one closes. */
  watchTailing(listener: (tailing: boolean) => void): () => void;
}

export async function startNodeObservability(options: NodeObservabilityOptions): Promise<NodeObservability> {
  const { config, stores } = options;
  const redactor = new Redactor({ enabled: config.redact.enabled, headers: config.redact.headers });
  const storeNames = new Map<string, string>();
  const storeName = (storeId: string): string | undefined => {
    let name = storeNames.get(storeId);
    if (name === undefined) {
      name = stores.getStore({ id: storeId })?.name;
      if (name !== undefined) storeNames.set(storeId, name);
    }
    return name;
  };
  const recordOptions = { redactor, storeName };
  const decisions = new LocalDecisionSource({ ...recordOptions, capacity: config.decisions.capacity, perSecond: config.decisions.perSecond });
  const streams = new DecisionStreams(decisions, { maxStreams: config.tail.maxStreams, maxBufferedBytes: config.tail.maxBufferedBytes });
  const closers: Array<() => unknown> = [() => streams.closeAll(), () => decisions.close()];

  let metrics: NodeMetrics | undefined;
  let metricsUrl: string | undefined;
  let workerMetrics: (() => Promise<WorkerMetrics>) | undefined;
  const scrape = async (m: NodeMetrics) => (workerMetrics === undefined ? m.scrape() : scrapeWithWorkers(m, await workerMetrics()));
  if (config.metrics.enabled) {
    metrics = new NodeMetrics({
      storeName,
      storeVersions: () => allStores(stores),
      cacheStats: options.cacheStats,
      streamStats: () => streams.stats(),
      isolateHeap: options.isolateHeap,
    });
    const m = metrics;
    closers.push(() => m.close());
    const port = options.metricsPort ?? config.metrics.port;
    if (port !== undefined) {
      const server = await startMetricsListener(config.metrics.host, port, () => scrape(m));
      const address = server.address() as AddressInfo;
      metricsUrl = `http://${config.metrics.host.includes(':') ? `[${config.metrics.host}]` : config.metrics.host}:${address.port}`;
      closers.push(
        () =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          }),
      );
    }
  }

  const logPath = options.accessLog ?? config.accessLog.path;
  let accessLog: AccessLog | undefined;
  if (logPath !== undefined && logPath !== '') {
    accessLog = new AccessLog({ destination: logPath, redactor, includeCookies: config.accessLog.includeCookies });
    accessLog.follow(edgeRequestChannel);
    const log = accessLog;
    closers.push(() => log.close());
  }

  const counted = metrics;
  const recordings = options.recordings;
  // Requests still in flight when the node closes finish after this: they must not reach closed metrics or stores.
  let closed = false;
  const observer: EdgeObserver = {
    countsKvsReads: counted !== undefined,
    wantsTrace: () => !closed && decisions.wantsTrace(),
    requestDone(facts, trace) {
      if (closed) return;
      counted?.count(facts);
      // With no distribution recording this is one property read; a recorder copies what the facts hold anyway.
      if (recordings !== undefined && !recordings.empty && facts.distributionId !== undefined) {
        recordings.get(facts.distributionId)?.offer(facts.method, facts.target, facts.rawHeaders, facts.remoteAddress);
      }
      if (trace !== undefined) decisions.offer(trace);
      // A failure is worth keeping even when it was not traced: made from its facts, without step timings.
      else if (facts.status >= 500) decisions.offer(traceOfFacts(facts));
    },
  };

  const debug = edgeDebug({ lookupSecret: options.lookupSecret, record: recordOptions, insecureNoAuth: options.insecureNoAuth, now: options.now });

  return {
    decisions,
    streams,
    metrics,
    metricsUrl,
    accessLog,
    routes: observeRouteGroup({ decisions, streams, metrics: metrics && (() => scrape(metrics)) }),
    debug,
    observer,
    workers: {
      traceAll: accessLog !== undefined,
      perSecondShare: (count) => Math.ceil(config.decisions.perSecond / Math.max(1, count)),
      offer(trace) {
        if (closed) return;
        decisions.offer(trace);
        accessLog?.write(trace);
      },
      scrapeAlso(source) {
        workerMetrics = source;
      },
      watchTailing(listener) {
        let tailing = false;
        return decisions.watchSubscribers((count) => {
          if (count > 0 === tailing) return;
          tailing = count > 0;
          listener(tailing);
        });
      },
    },
    async close() {
      closed = true;
      for (const close of closers.reverse()) await close();
    },
  };
}

/**
 * The primary's own metrics plus every worker's that answered, summed by prom-client's cluster aggregation (counters
 * and histograms add up; the primary's process metrics are its own), and `openfront_edge_worker_scraped` per worker:
 * 0 says that worker's counts are missing from this scrape.
 */
async function scrapeWithWorkers(metrics: NodeMetrics, workers: WorkerMetrics): Promise<{ contentType: string; body: string }> {
  const registry = AggregatorRegistry.aggregate([await metrics.registry.getMetricsAsJSON(), ...workers.answers]);
  const scraped = new Gauge({
    name: 'openfront_edge_worker_scraped',
    help: 'Per edge worker: 1 when it answered this scrape in time, 0 when its counts are missing from it',
    labelNames: ['worker'],
    registers: [registry],
  });
  for (const worker of workers.workers) scraped.set({ worker: String(worker.index) }, worker.answered ? 1 : 0);
  return { contentType: metrics.registry.contentType, body: await registry.metrics() };
}

/** Every store and its version, page by page. */
function allStores(stores: Pick<SqliteStores, 'listStores'>): Array<{ store: string; version: number }> {
  const out: Array<{ store: string; version: number }> = [];
  let marker: string | undefined;
  do {
    const page = stores.listStores({ marker, maxItems: 100 });
    for (const store of page.items) out.push({ store: store.name, version: store.version });
    marker = page.nextMarker;
  } while (marker !== undefined);
  return out;
}

/** The unsigned scrape endpoint: GET /metrics and nothing else. Meant for a private network (loopback by default). */
async function startMetricsListener(host: string, port: number, scrape: () => Promise<{ contentType: string; body: string }>): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found: this listener serves GET /metrics only\n');
      return;
    }
    scrape().then(
      ({ contentType, body }) =>
        res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) }).end(req.method === 'HEAD' ? undefined : body),
      (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${err instanceof Error ? err.message : String(err)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
