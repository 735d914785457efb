/**
 * The decision trace of one edge request, published on `node:diagnostics_channel` channel
 * `openfront:edge:request` after the response is sent. It is built only while the channel has subscribers, so
 * tracing costs nothing when nobody listens (metrics, the trace log and tests are subscribers).
 */
import diagnostics_channel from 'node:diagnostics_channel';
import type { ErrorCode } from '../errors.js';
import type { ErrorClass, KvsRead } from '../runtime/types.js';

export const EDGE_REQUEST_CHANNEL = 'openfront:edge:request';
export const edgeRequestChannel = diagnostics_channel.channel(EDGE_REQUEST_CHANNEL);

/** One function invocation in the trace. */
export interface FunctionTrace {
  eventType: 'viewer-request' | 'viewer-response';
  name: string;
  /** Version the FunctionSource served (stable across a publish for in-flight requests). */
  version: string;
  codeHash: string;
  kind: 'request' | 'response' | 'error';
  errorClass?: ErrorClass;
  errorCode?: ErrorCode;
  errorMessage?: string;
  computeUtilization: number;
  /** The isolate's CPU time for the invocation (within a batch, the batch's shared evenly). */
  elapsedMicros: number;
  /** How many invocations ran in the same call into the isolate (docs/edge.md, "Functions run off the event loop"). */
  batchSize?: number;
  kvsReads: KvsRead[];
  originChange?: 'update' | 'select' | 'group';
}

export interface EdgeTrace {
  requestId: string;
  nodeId: string;
  method: string;
  host: string;
  /** Target as received. */
  target: string;
  /** Distribution id, or undefined when no distribution answers for the host. */
  distributionId?: string;
  /** Path pattern of the behavior that matched (`*` for the default behavior). */
  behavior?: string;
  functions: FunctionTrace[];
  cache?: {
    key: string;
    objectPath: string;
    status: 'hit' | 'miss';
    /** A miss that waited for another request's origin fetch instead of fetching itself. */
    collapsed: boolean;
    stored?: boolean;
  };
  origin?: {
    /** Origin that produced the response. */
    id: string;
    attempts: Array<{ originId: string; status?: number; error?: 'connect' | 'timeout' }>;
  };
  /** Status sent to the viewer. */
  status: number;
  /** What produced the response. */
  result: 'origin' | 'cache' | 'function-response' | 'function-error' | 'origin-error' | 'edge-error';
  /** Error name for error results (the `x-openfront-error` header value). */
  error?: string;
  /** Microseconds per step. */
  timings: {
    total: number;
    viewerRequest?: number;
    cache?: number;
    origin?: number;
    viewerResponse?: number;
  };
}
