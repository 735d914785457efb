/**
 * Observability bench (issue 14, "Cost"): what metrics, the decision ring and a live stream add to the edge's own
 * work per request, measured where a shared machine cannot blur it. The real `EdgePipeline` runs in this process on
 * requests made in memory, with a function source that answers at once (a rewrite with two KVS reads, as the edge
 * bench's function makes) and an origin fetcher that answers at once (200, 28 bytes): no sockets, no isolate, so
 * the CPU time per request is the pipeline's own. Each configuration is measured in alternating rounds and the
 * median kept; the baseline is the same pipeline with no observer and nothing on the trace channel.
 *
 * The edge bench (bench/edge.ts) measures the same configurations end to end, as req/s ratios; on a loaded
 * machine its ratios move by more than the 3% this is about, hence this one.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../src/config/index.js';
import { DistributionRouter } from '../src/edge/distribution.js';
import { ResponseCache } from '../src/edge/cache/response-cache.js';
import { FunctionThrottle } from '../src/edge/function-throttle.js';
import { EdgePipeline } from '../src/edge/pipeline.js';
import type { FunctionSource } from '../src/edge/function-source.js';
import type { OriginFetcher } from '../src/edge/origins/fetch.js';
import { edgeRequestChannel } from '../src/edge/trace.js';
import { LocalDecisionSource } from '../src/observe/decision-source.js';
import { DecisionFilter } from '../src/observe/filter.js';
import { DecisionStreams } from '../src/observe/live-stream.js';
import { NodeMetrics } from '../src/observe/metrics.js';
import { Redactor } from '../src/observe/redact.js';
import { traceOfFacts, type EdgeObserver } from '../src/observe/request-facts.js';
import type { CFEvent } from '../src/runtime/event.js';
import type { CloudFrontFunction, FunctionResult, InvokeOptions } from '../src/runtime/types.js';
import { fmt, printTable, type BenchRow } from './stats.js';

const REQUESTS_PER_ROUND = 50_000;
const IN_FLIGHT = 50;
const ROUNDS = 10;
/**
 * The whole edge's CPU per request in the edge bench (bench/edge.ts, "no cache vs node proxy: CPU per request") on an
 * idle 2-vCPU machine: what "within 3%" is a share of. Machines differ; the edge bench prints this one's.
 */
const EDGE_CPU_MICROS_PER_REQUEST = 107;
const BUDGET_MICROS = EDGE_CPU_MICROS_PER_REQUEST * 0.03;

// The config names the function; the source below answers for it (the file is there only for parseConfig's check).
const configDir = mkdtempSync(join(tmpdir(), 'openfront-bench-observe-'));
writeFileSync(join(configDir, 'decide.js'), 'function handler(event) { return event.request; }');
const config = parseConfig(
  {
    server: { nodeId: 'bench' },
    functions: [{ name: 'decide', code: 'decide.js' }],
    distributions: [
      {
        id: 'EBENCH',
        hostnames: ['*'],
        origins: [{ id: 'origin', url: 'http://127.0.0.1:9' }],
        defaultBehavior: { origin: 'origin', cachePolicy: 'CachingDisabled', functionAssociations: { 'viewer-request': 'decide' } },
      },
    ],
  },
  configDir,
);
rmSync(configDir, { recursive: true, force: true });

/** Answers at once with what the edge bench's function decides for a proxied request: a rewrite after two reads. */
const decide = {
  name: 'decide',
  codeHash: 'bench',
  runAdaptive: async (event: CFEvent, options: InvokeOptions = {}): Promise<FunctionResult> => ({
    kind: 'request',
    request: event.request,
    logs: [],
    computeUtilization: 3,
    elapsedMicros: 30,
    kvsReads: options.recordKvsReads
      ? [
          { storeId: 'store', op: 'get', key: `tenant:${event.request.headers.host?.value}`, version: 1, hit: true },
          { storeId: 'store', op: 'exists', key: `redirect:${event.request.uri}`, version: 1, hit: false },
        ]
      : [],
  }),
} as unknown as CloudFrontFunction;
const functions: FunctionSource = { live: () => ({ fn: decide, version: '1', kvs: {} }) } as unknown as FunctionSource;
const origins = {
  fetch: async (plan: { primary: { id: string } }) => ({
    response: { status: 200, statusText: 'OK', headers: [['content-type', 'text/plain']], body: Buffer.from('hello from the origin server') },
    origin: plan.primary,
    attempts: [{ originId: plan.primary.id, status: 200 }],
  }),
} as unknown as OriginFetcher;

function pipeline(observer?: EdgeObserver): EdgePipeline {
  return new EdgePipeline({
    router: new DistributionRouter(config.distributions),
    functions,
    cache: new ResponseCache({ maxBytes: 0 }),
    origins,
    nodeId: 'bench',
    edgeLocation: { name: 'LCL', serverIp: '127.0.0.1', region: 'local' },
    throttle: new FunctionThrottle(),
    observer,
  });
}

const socket = { remoteAddress: '::ffff:127.0.0.1', remotePort: 50_000 };
function viewerRequest(i: number): IncomingMessage {
  const host = `t${i % 5000}.example`;
  return {
    method: 'GET',
    url: `/page-${i % 50}`,
    httpVersion: '1.1',
    headers: { host, 'user-agent': 'autocannon', accept: '*/*', connection: 'keep-alive' },
    rawHeaders: ['host', host, 'user-agent', 'autocannon', 'accept', '*/*', 'connection', 'keep-alive'],
    socket,
  } as unknown as IncomingMessage;
}
const response = { headersSent: false, writeHead: () => response, end: () => response, destroy: () => response } as unknown as ServerResponse;

/** What `startNodeObservability` wires (src/node/observability.ts), with or without one live stream at full sampling. */
function observed(tail: boolean): { observer: EdgeObserver; close(): void } {
  const metrics = new NodeMetrics({ storeName: () => 'tenants' });
  const decisions = new LocalDecisionSource({ redactor: new Redactor(), storeName: () => 'tenants', perSecond: 100 });
  const streams = new DecisionStreams(decisions);
  if (tail) {
    // A reader that keeps up: the stream's cost is building, redacting and serializing each record.
    const sink = { writableLength: 0, destroyed: false, write: (chunk: string) => chunk.length > 0, once: () => sink };
    streams.attach(sink, new DecisionFilter({}), streams.reserve());
  }
  const observer: EdgeObserver = {
    countsKvsReads: true,
    wantsTrace: () => decisions.wantsTrace(),
    requestDone(facts, trace) {
      metrics.count(facts);
      if (trace !== undefined) decisions.offer(trace);
      else if (facts.status >= 500) decisions.offer(traceOfFacts(facts));
    },
  };
  return { observer, close: () => (streams.closeAll(), decisions.close(), metrics.close()) };
}

/** Metrics and the ring following the trace channel: every request traced (how it was before the observer). */
function everyRequestTraced(): () => void {
  const metrics = new NodeMetrics({ storeName: () => 'tenants' });
  metrics.follow(edgeRequestChannel);
  const decisions = new LocalDecisionSource({ channel: edgeRequestChannel, redactor: new Redactor(), storeName: () => 'tenants' });
  return () => (metrics.close(), decisions.close());
}

interface Variant {
  name: string;
  pipeline: EdgePipeline;
  /** Subscribes what must listen on the trace channel while this variant runs; returns the unsubscribe. */
  around?: () => () => void;
}

async function cpuMicrosPerRequest(variant: Variant): Promise<number> {
  const stop = variant.around?.();
  try {
    const started = process.cpuUsage();
    for (let i = 0; i < REQUESTS_PER_ROUND; i += IN_FLIGHT) {
      const batch: Array<Promise<void>> = [];
      for (let j = 0; j < IN_FLIGHT; j++) batch.push(variant.pipeline.handle(viewerRequest(i + j), response));
      await Promise.all(batch);
    }
    const used = process.cpuUsage(started);
    return (used.user + used.system) / REQUESTS_PER_ROUND;
  } finally {
    stop?.();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

export async function main(): Promise<void> {
  console.log(`\nObservability bench: the edge pipeline in process, ${REQUESTS_PER_ROUND} requests per round, ${ROUNDS} alternating rounds, median`);
  const defaults = observed(false);
  const tail = observed(true);
  const variants: Variant[] = [
    { name: 'plain edge (no observer)', pipeline: pipeline() },
    { name: 'metrics + decision ring (openfront start defaults)', pipeline: pipeline(defaults.observer) },
    { name: 'metrics + tail at full sampling', pipeline: pipeline(tail.observer) },
    { name: 'every request traced (trace channel subscribers)', pipeline: pipeline(), around: everyRequestTraced },
  ];
  const samples = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  try {
    for (const variant of variants) await cpuMicrosPerRequest(variant);
    for (let round = 0; round < ROUNDS; round++) {
      for (const variant of round % 2 === 0 ? variants : [...variants].reverse()) samples.get(variant.name)!.push(await cpuMicrosPerRequest(variant));
    }
  } finally {
    defaults.close();
    tail.close();
  }
  const base = samples.get(variants[0].name)!;
  const rows: BenchRow[] = variants.map((variant, i) => {
    const own = samples.get(variant.name)!;
    // Paired by round: both measured back to back, so a slow phase of the machine hits both.
    const added = median(own.map((value, round) => value - base[round]));
    return {
      name: `${variant.name}: CPU µs per request (added)`,
      value: `${fmt(median(own), 2)}${i === 0 ? '' : ` (+${fmt(added, 2)})`}`,
      baseline: fmt(median(base), 2),
      ratio: `${fmt(median(own) / median(base), 2)}x`,
      ...(i === 1 ? { target: `added ≤ ${fmt(BUDGET_MICROS, 1)}`, ok: added <= BUDGET_MICROS } : {}),
    };
  });
  printTable('Observability: CPU per request the edge pipeline spends itself (no sockets, no isolate)', rows);
  console.log(
    `  Added µs against the whole edge's CPU per request in the edge bench (~${EDGE_CPU_MICROS_PER_REQUEST} µs on an idle 2-vCPU machine; 3% is ${fmt(BUDGET_MICROS, 1)} µs).`,
  );
}
