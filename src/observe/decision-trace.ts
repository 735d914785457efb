/**
 * The raw decision trace of one edge request, as the edge fills it in while the request runs (docs/observability.md).
 * The edge publishes it on `node:diagnostics_channel` after the response is sent and builds it only while someone
 * listens. Consumers (ring buffer, live stream, metrics, access log) read it; they must not change it, and anything
 * that leaves the process goes through {@link toDecisionRecord}, which redacts secrets.
 */
import type { ErrorCode } from '../errors.js';

/**
 * One KVS read a function made, as the engine reports it (runtime's `KvsRead`, restated here so that observe/ does
 * not depend on the engine: runtime → kvs → observe would close a cycle).
 */
export interface KvsReadTrace {
  storeId: string;
  op: 'get' | 'exists' | 'meta';
  key?: string;
  /** Store version the read saw. */
  version: number;
  hit: boolean;
}

/** One function invocation in the trace. */
export interface FunctionTrace {
  eventType: 'viewer-request' | 'viewer-response';
  name: string;
  /** Version the FunctionSource served (stable across a publish for in-flight requests). */
  version: string;
  codeHash: string;
  kind: 'request' | 'response' | 'error';
  errorClass?: 'validation' | 'execution';
  errorCode?: ErrorCode;
  errorMessage?: string;
  computeUtilization: number;
  /** The isolate's CPU time for the invocation (within a batch, the batch's shared evenly). */
  elapsedMicros: number;
  /** How many invocations ran in the same call into the isolate (docs/edge.md, "Functions run off the event loop"). */
  batchSize?: number;
  kvsReads: KvsReadTrace[];
  originChange?: 'update' | 'select' | 'group';
  /** console.log lines of the invocation (already truncated like CloudFront's). */
  logs?: string[];
}

/** One try at an origin (a failover group makes two). */
export interface OriginAttemptTrace {
  originId: string;
  status?: number;
  error?: 'connect' | 'timeout';
}

export interface EdgeTrace {
  requestId: string;
  nodeId: string;
  /** Epoch milliseconds when the edge received the request. */
  startedAt?: number;
  method: string;
  host: string;
  /** Target as received. */
  target: string;
  /** The viewer's headers as received (name, value pairs): redacted before leaving the process. */
  viewerHeaders?: ReadonlyArray<readonly [string, string]>;
  clientIp?: string;
  clientPort?: number;
  httpVersion?: string;
  /** Distribution id, or undefined when no distribution answers for the host. */
  distributionId?: string;
  /** Path pattern of the behavior that matched (`*` for the default behavior). */
  behavior?: string;
  functions: FunctionTrace[];
  cache?: {
    key: string;
    objectPath: string;
    /** `refresh-hit`: an expired copy served after the origin confirmed it (304) or failed (CloudFront's RefreshHit). */
    status: 'hit' | 'miss' | 'refresh-hit';
    /** A miss that waited for another request's origin fetch instead of fetching itself. */
    collapsed: boolean;
    stored?: boolean;
  };
  origin?: {
    /** Origin that produced the response. */
    id: string;
    attempts: OriginAttemptTrace[];
  };
  /** Status sent to the viewer. */
  status: number;
  /** Body bytes sent to the viewer (Content-Length). */
  bodyBytes?: number;
  /** Response Content-Type. */
  contentType?: string;
  /** What produced the response. */
  result: 'origin' | 'cache' | 'function-response' | 'function-error' | 'origin-error' | 'edge-error' | 'redirect';
  /** Error name for error results (the `x-openfront-error` header value). */
  error?: string;
  /**
   * Made after the request from its facts (a 5xx nobody was tracing, docs/observability.md "Cost"): the step
   * timings other than the origin's, and the response's size and type, are unknown.
   */
  partial?: true;
  /** Microseconds per step. */
  timings: {
    total: number;
    viewerRequest?: number;
    cache?: number;
    origin?: number;
    viewerResponse?: number;
  };
}
