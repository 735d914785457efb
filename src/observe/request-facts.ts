/**
 * What the edge hands its observer for every request when nobody needs a full decision trace: a small record of
 * references to what the pipeline has anyway (function results, the origin's attempts, the cache key). Metrics are
 * counted from it, and a decision trace can be made from it afterwards when a request turns out to matter (a 5xx)
 * — so the always-on path builds no trace, publishes nothing and retains nothing (docs/observability.md, "Cost").
 */
import type { ErrorCode } from '../errors.js';
import type { EdgeTrace, FunctionTrace, KvsReadTrace, OriginAttemptTrace } from './decision-trace.js';

/** The part of the engine's FunctionResult observers read (restated: observe/ does not depend on the engine). */
export interface FunctionRunResult {
  kind: 'request' | 'response' | 'error';
  error?: { code: ErrorCode; errorClass: 'validation' | 'execution'; message: string };
  computeUtilization: number;
  elapsedMicros: number;
  batchSize?: number;
  kvsReads: KvsReadTrace[];
  originChange?: { kind: 'update' | 'select' | 'group' };
  logs: string[];
}

/** One function invocation: the result object the engine returned, not a copy. */
export interface FunctionRun {
  eventType: 'viewer-request' | 'viewer-response';
  name: string;
  version: string;
  codeHash: string;
  result: FunctionRunResult;
}

/** One request as the edge saw it. Filled in while the request runs; read once it is answered. */
export interface RequestFacts {
  requestId: string;
  nodeId: string;
  /** Epoch milliseconds when the edge received the request. */
  startedAt: number;
  method: string;
  /** Target as received. */
  target: string;
  /** The request's raw header list (name, value, name, value…) as node:http gave it. */
  rawHeaders: readonly string[];
  remoteAddress: string;
  host?: string;
  distributionId?: string;
  behavior?: string;
  functions?: FunctionRun[];
  /** Undefined when the request never reached the cache lookup. */
  cacheHit?: boolean;
  /** The hit was an expired copy revalidated with the origin (CloudFront's RefreshHit). */
  cacheRefresh?: boolean;
  cacheKey?: { key: string; objectPath: string };
  collapsed: boolean;
  origin?: { id: string; attempts: OriginAttemptTrace[] };
  /** Time to the origin's answer (all attempts), when the request went to an origin. */
  originMicros?: number;
  /** Status sent to the viewer (0 until then). */
  status: number;
  result: EdgeTrace['result'];
  /** Why the edge answered with an error, when it did. */
  error?: string;
}

/** What the edge calls for each request (src/node/observability.ts makes the one `openfront start` uses). */
export interface EdgeObserver {
  /** False: function results may leave `kvsReads` empty. */
  readonly countsKvsReads: boolean;
  /** Asked once as a request arrives: true when this request's full decision trace will be wanted. */
  wantsTrace(): boolean;
  /** Once per request after its response is written; `trace` is there when {@link wantsTrace} said so. */
  requestDone(facts: RequestFacts, trace: EdgeTrace | undefined): void;
}

/** The trace entry of one function run. */
export function functionTraceOf(run: FunctionRun): FunctionTrace {
  const { result } = run;
  const entry: FunctionTrace = {
    eventType: run.eventType,
    name: run.name,
    version: run.version,
    codeHash: run.codeHash,
    kind: result.kind,
    computeUtilization: result.computeUtilization,
    elapsedMicros: result.elapsedMicros,
    kvsReads: result.kvsReads,
  };
  if (result.batchSize !== undefined) entry.batchSize = result.batchSize;
  if (result.error !== undefined) {
    entry.errorClass = result.error.errorClass;
    entry.errorCode = result.error.code;
    entry.errorMessage = result.error.message;
  }
  if (result.originChange !== undefined) entry.originChange = result.originChange.kind;
  if (result.logs.length > 0) entry.logs = result.logs;
  return entry;
}

/** The facts a finished trace holds (for consumers that are handed traces: the trace channel, tests). */
export function factsOfTrace(trace: EdgeTrace): RequestFacts {
  const facts: RequestFacts = {
    requestId: trace.requestId,
    nodeId: trace.nodeId,
    startedAt: trace.startedAt ?? 0,
    method: trace.method,
    target: trace.target,
    rawHeaders: [],
    remoteAddress: trace.clientIp ?? '',
    host: trace.host,
    distributionId: trace.distributionId,
    behavior: trace.behavior,
    functions: trace.functions.map((fn) => ({
      eventType: fn.eventType,
      name: fn.name,
      version: fn.version,
      codeHash: fn.codeHash,
      result: {
        kind: fn.kind,
        ...(fn.errorClass !== undefined
          ? { error: { code: fn.errorCode ?? 'FUNCTION_EXECUTION_ERROR', errorClass: fn.errorClass, message: fn.errorMessage ?? '' } }
          : {}),
        computeUtilization: fn.computeUtilization,
        elapsedMicros: fn.elapsedMicros,
        kvsReads: fn.kvsReads,
        logs: fn.logs ?? [],
      },
    })),
    cacheHit: trace.cache === undefined ? undefined : trace.cache.status !== 'miss',
    ...(trace.cache?.status === 'refresh-hit' ? { cacheRefresh: true } : {}),
    collapsed: trace.cache?.collapsed ?? false,
    origin: trace.origin,
    originMicros: trace.timings.origin,
    status: trace.status,
    result: trace.result,
    error: trace.error,
  };
  if (trace.cache !== undefined) facts.cacheKey = { key: trace.cache.key, objectPath: trace.cache.objectPath };
  return facts;
}

/**
 * A decision trace made after the fact, for a request that was not traced while it ran: everything but the step
 * timings (only the origin's is known) and the response's size and type.
 */
export function traceOfFacts(facts: RequestFacts): EdgeTrace {
  const raw = facts.rawHeaders;
  const viewerHeaders: Array<[string, string]> = new Array(raw.length >> 1);
  for (let i = 0; i + 1 < raw.length; i += 2) viewerHeaders[i >> 1] = [raw[i], raw[i + 1]];
  const trace: EdgeTrace = {
    requestId: facts.requestId,
    nodeId: facts.nodeId,
    startedAt: facts.startedAt,
    method: facts.method,
    host: facts.host ?? viewerHeaders.find(([name]) => name.toLowerCase() === 'host')?.[1] ?? '',
    target: facts.target,
    viewerHeaders,
    clientIp: viewerIp(facts.remoteAddress),
    functions: (facts.functions ?? []).map(functionTraceOf),
    status: facts.status,
    result: facts.result,
    timings: { total: 0 },
    partial: true,
  };
  if (facts.distributionId !== undefined) trace.distributionId = facts.distributionId;
  if (facts.behavior !== undefined) trace.behavior = facts.behavior;
  if (facts.cacheHit !== undefined && facts.cacheKey !== undefined) {
    trace.cache = {
      key: facts.cacheKey.key,
      objectPath: facts.cacheKey.objectPath,
      status: facts.cacheRefresh === true ? 'refresh-hit' : facts.cacheHit ? 'hit' : 'miss',
      collapsed: facts.collapsed,
    };
  }
  if (facts.origin !== undefined) trace.origin = facts.origin;
  if (facts.originMicros !== undefined) trace.timings.origin = facts.originMicros;
  if (facts.error !== undefined) trace.error = facts.error;
  return trace;
}

function viewerIp(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}
