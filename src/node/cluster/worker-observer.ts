/**
 * What an edge worker sees of its requests and hands to the primary (docs/deploy.md, "What the primary sees"):
 * its own metrics registry, which the primary asks for on every scrape and sums with the others; decision traces,
 * batched to the primary under fixed bounds ({@link DecisionBatcher}); and the answer to `openfront explain`'s
 * signed debug header, checked against the database's access keys like the primary's own edge would.
 */
import { Gauge } from 'prom-client';
import type { ObservabilityConfig } from '../../config/types.js';
import type { EdgeDebug } from '../../edge/debug.js';
import type { EdgeTrace } from '../../observe/decision-trace.js';
import { NodeMetrics } from '../../observe/metrics.js';
import { Redactor } from '../../observe/redact.js';
import { traceOfFacts, type EdgeObserver } from '../../observe/request-facts.js';
import { edgeDebug } from '../edge-debug.js';
import { DecisionBatcher, type DecisionBatcherOptions } from './decision-batcher.js';
import type { WorkerObserve } from './protocol.js';

export interface WorkerObservationOptions {
  config: ObservabilityConfig;
  observe: WorkerObserve;
  storeName: (storeId: string) => string | undefined;
  lookupSecret: (accessKeyId: string) => string | undefined;
  cacheStats: () => { bytes: number; entries: number; evictions: number };
  isolateHeap?: () => Promise<Iterable<{ function: string; version: string; bytes: number }>>;
  /** Sends one batch of traces to the primary; its acknowledgement goes to {@link WorkerObservation.batcher}. */
  send: (traces: EdgeTrace[]) => void;
  batch?: Omit<DecisionBatcherOptions<EdgeTrace>, 'send'>;
}

export interface WorkerObservation {
  observer: EdgeObserver;
  debug: EdgeDebug;
  metrics: NodeMetrics;
  batcher: DecisionBatcher<EdgeTrace>;
  setTailing(tailing: boolean): void;
  close(): void;
}

export function workerObservation(options: WorkerObservationOptions): WorkerObservation {
  const { config, observe } = options;
  const redactor = new Redactor({ enabled: config.redact.enabled, headers: config.redact.headers });
  const record = { redactor, storeName: options.storeName };
  const batcher = new DecisionBatcher<EdgeTrace>({ sizeOf: approximateTraceBytes, ...options.batch, send: options.send });
  // Only what the edge counts: the store versions, tail streams and process metrics are the primary's to report.
  const metrics = new NodeMetrics({ storeName: options.storeName, cacheStats: options.cacheStats, isolateHeap: options.isolateHeap, processMetrics: false });
  new Gauge({
    name: 'openfront_edge_worker_decisions_dropped_total',
    help: 'Decisions an edge worker dropped instead of queueing them while the primary was slow to take them',
    registers: [metrics.registry],
    collect() {
      this.set(batcher.dropped);
    },
  });
  let tailing = observe.tailing;
  let budget = observe.perSecond;
  // The same per-second budget the primary's decision source keeps for its own edge, in this worker's share.
  const refill = setInterval(() => (budget = observe.perSecond), 1000);
  refill.unref();
  let closed = false;
  // As on the primary: with metrics off nothing is counted, and reads are only collected for traced requests.
  const counting = config.metrics.enabled;
  const observer: EdgeObserver = {
    countsKvsReads: counting,
    wantsTrace: () => !closed && (observe.traceAll || tailing || budget-- > 0),
    requestDone(facts, trace) {
      if (closed) return;
      if (counting) metrics.count(facts);
      if (trace !== undefined) batcher.offer(trace);
      // A failure is worth keeping even when it was not traced (as on the primary: docs/observability.md, "Cost").
      else if (facts.status >= 500) batcher.offer(traceOfFacts(facts));
    },
  };
  return {
    observer,
    debug: edgeDebug({ lookupSecret: options.lookupSecret, record, insecureNoAuth: observe.insecureNoAuth }),
    metrics,
    batcher,
    setTailing(next) {
      tailing = next;
    },
    close() {
      closed = true;
      clearInterval(refill);
      batcher.close();
      metrics.close();
    },
  };
}

/**
 * Roughly what a trace weighs once cloned for IPC: its strings (one byte a character) and a fixed share per object.
 * Viewer headers (up to the viewer limit, 20 KB) and function logs (up to 10 KB an invocation) are what make a trace
 * large; the rest is small and bounded.
 */
export function approximateTraceBytes(trace: EdgeTrace): number {
  let bytes = 512 + trace.target.length + trace.host.length + (trace.error?.length ?? 0);
  for (const [name, value] of trace.viewerHeaders ?? []) bytes += name.length + value.length + 16;
  for (const fn of trace.functions) {
    bytes += 256 + fn.name.length + (fn.errorMessage?.length ?? 0);
    for (const read of fn.kvsReads) bytes += 96 + (read.key?.length ?? 0);
    for (const line of fn.logs ?? []) bytes += line.length + 16;
  }
  return bytes;
}
