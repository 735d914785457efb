/**
 * The decision record: what one edge request decided and from which data, in the form that leaves the process
 * (live stream, `GET /openfront/v1/decisions`, `openfront explain`). Built from an {@link EdgeTrace} with secrets
 * redacted (see ./redact.ts). Field reference: docs/observability.md.
 */
import type { EdgeTrace, FunctionTrace } from './decision-trace.js';
import type { Redactor } from './redact.js';

/** What a function's result meant for the request. */
export type FunctionOutcome = 'rewrite' | 'generated-response' | 'response' | 'error';

/** The cloudfront module helper that chose the origin, or the behavior's own origin. */
export type OriginChooser = 'behavior' | 'updateRequestOrigin' | 'selectRequestOriginById' | 'createRequestOriginGroup';

export interface KvsReadRecord {
  /** Store name when known, else its id. */
  store: string;
  storeId: string;
  op: 'get' | 'exists' | 'meta';
  key?: string;
  /** Store version the read saw. */
  version: number;
  hit: boolean;
}

export interface FunctionRecord {
  eventType: 'viewer-request' | 'viewer-response';
  name: string;
  /** The LIVE version that ran. */
  version: string;
  outcome: FunctionOutcome;
  /** For errors: validation or execution, the error code and message. */
  errorClass?: string;
  errorCode?: string;
  errorMessage?: string;
  runtimeMicros: number;
  computeUtilization: number;
  kvsReads: KvsReadRecord[];
  originChange?: OriginChooser;
  logs: string[];
}

export interface DecisionRecord {
  requestId: string;
  /** The edge that served the request (its node id): a fleet stream merges several. */
  edge: string;
  /** ISO-8601 time the request arrived. */
  time: string;
  method: string;
  host: string;
  /** Path without the query string. */
  path: string;
  /** Query string without "?", or "". */
  query: string;
  clientIp?: string;
  /** Viewer request headers, secrets redacted. */
  headers: Record<string, string>;
  distributionId?: string;
  /** The matched behavior's path pattern (`*`: the default behavior). */
  behavior?: string;
  functions: FunctionRecord[];
  cache?: { key: string; objectPath: string; status: 'hit' | 'miss' | 'refresh-hit'; collapsed: boolean; stored?: boolean };
  origin?: {
    id: string;
    chosenBy: OriginChooser;
    /** Status of the last attempt; absent when no origin answered. */
    status?: number;
    latencyMicros?: number;
    attempts: Array<{ originId: string; status?: number; error?: 'connect' | 'timeout' }>;
  };
  status: number;
  result: EdgeTrace['result'];
  error?: string;
  /** Present when the decision was recorded after the fact, without step timings (docs/observability.md, "Cost"). */
  partial?: true;
  timings: EdgeTrace['timings'];
}

export interface DecisionRecordOptions {
  redactor: Redactor;
  /** Store name for a store id (undefined when unknown). */
  storeName?: (storeId: string) => string | undefined;
}

const CHOOSERS: Record<NonNullable<FunctionTrace['originChange']>, OriginChooser> = {
  update: 'updateRequestOrigin',
  select: 'selectRequestOriginById',
  group: 'createRequestOriginGroup',
};

function outcomeOf(fn: FunctionTrace): FunctionOutcome {
  if (fn.kind === 'error') return 'error';
  if (fn.kind === 'request') return 'rewrite';
  return fn.eventType === 'viewer-request' ? 'generated-response' : 'response';
}

export function toDecisionRecord(trace: EdgeTrace, options: DecisionRecordOptions): DecisionRecord {
  const redaction = options.redactor.forRequest(trace.viewerHeaders ?? []);
  const text = redaction.text;
  const q = trace.target.indexOf('?');
  let chosenBy: OriginChooser = 'behavior';
  const functions = trace.functions.map((fn): FunctionRecord => {
    if (fn.originChange !== undefined) chosenBy = CHOOSERS[fn.originChange];
    const record: FunctionRecord = {
      eventType: fn.eventType,
      name: fn.name,
      version: fn.version,
      outcome: outcomeOf(fn),
      runtimeMicros: Math.round(fn.elapsedMicros),
      computeUtilization: fn.computeUtilization,
      kvsReads: fn.kvsReads.map((read) => {
        const out: KvsReadRecord = {
          store: options.storeName?.(read.storeId) ?? read.storeId,
          storeId: read.storeId,
          op: read.op,
          version: read.version,
          hit: read.hit,
        };
        if (read.key !== undefined) out.key = text(read.key);
        return out;
      }),
      logs: (fn.logs ?? []).map(text),
    };
    if (fn.errorClass !== undefined) record.errorClass = fn.errorClass;
    if (fn.errorCode !== undefined) record.errorCode = fn.errorCode;
    if (fn.errorMessage !== undefined) record.errorMessage = text(fn.errorMessage);
    if (fn.originChange !== undefined) record.originChange = CHOOSERS[fn.originChange];
    return record;
  });
  const record: DecisionRecord = {
    requestId: trace.requestId,
    edge: trace.nodeId,
    time: new Date(trace.startedAt ?? Date.now()).toISOString(),
    method: trace.method,
    host: trace.host,
    path: text(q === -1 ? trace.target : trace.target.slice(0, q)),
    query: q === -1 ? '' : text(trace.target.slice(q + 1)),
    headers: redaction.headers,
    functions,
    status: trace.status,
    result: trace.result,
    timings: { ...trace.timings },
  };
  if (trace.clientIp !== undefined) record.clientIp = trace.clientIp;
  if (trace.distributionId !== undefined) record.distributionId = trace.distributionId;
  if (trace.behavior !== undefined) record.behavior = trace.behavior;
  if (trace.cache !== undefined) record.cache = { ...trace.cache, key: text(trace.cache.key), objectPath: text(trace.cache.objectPath) };
  if (trace.origin !== undefined) {
    const last = trace.origin.attempts.at(-1);
    record.origin = { id: trace.origin.id, chosenBy, attempts: trace.origin.attempts.map((a) => ({ ...a })) };
    if (last?.status !== undefined) record.origin.status = last.status;
    if (trace.timings.origin !== undefined) record.origin.latencyMicros = trace.timings.origin;
  }
  if (trace.error !== undefined) record.error = text(trace.error);
  if (trace.partial) record.partial = true;
  return record;
}
