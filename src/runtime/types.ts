/**
 * The engine's public contract. The edge, the control plane, the CLI and users' own tests all call functions
 * through these types; nothing here knows about HTTP servers or where store data comes from.
 */
import type { ErrorCode } from '../errors.js';
import type { KvsSnapshot, KvsSnapshotSource } from '../kvs/snapshot.js';
import type { CFEvent, CFRequest, CFResponse, RuntimeVersion } from './event.js';

export interface RuntimeLimits {
  /** Maximum code size in bytes (CloudFront: 10 KB). */
  maxCodeBytes: number;
  /** CPU budget of one invocation in microseconds; ComputeUtilization = elapsed / budget. */
  cpuBudgetMicros: number;
  /** Hard kill after this many microseconds (runaway code). Defaults to a multiple of the budget. */
  killAfterMicros: number;
  /** V8 heap limit of the function's isolate, in MB (isolated-vm's floor is 8). */
  memoryLimitMb: number;
  /** console.log output kept per invocation, in bytes (CloudFront: 10 KB). */
  maxLogBytes: number;
}

/** Where a function's `cf.kvs()` reads come from: the store ids it may open and how to get a snapshot of each. */
export interface KvsBinding {
  /** Store id `cf.kvs()` (no argument) opens; undefined when no store is associated. */
  defaultStoreId?: string;
  /** Snapshot source per store id. A snapshot is taken once per invocation, on first read. */
  stores: ReadonlyMap<string, KvsSnapshotSource>;
  /**
   * true: the default store also answers `cf.kvs(id)` for an id (or ARN) it does not have. For local tools whose
   * data comes from a file and so has no id of its own (`test-function --kvs`, golden tests, `dev`); the decision
   * trace still records the id the code asked for. Where stores have ids (`start`, TestFunction) leave it unset:
   * an id that is not the associated store's then fails the read, as on CloudFront.
   */
  anyId?: boolean;
}

/** What a caller may pass as `kvs` for one invocation: a binding, one snapshot source, one snapshot or a plain object. */
export type KvsInput = KvsBinding | KvsSnapshotSource | KvsSnapshot | Record<string, string>;

export interface EdgeLocation {
  name: string;
  serverIp: string;
  region: string;
}

export interface InvokeOptions {
  kvs?: KvsInput;
  /** `cf.edgeLocation` for viewer-request events. Treated as immutable: pass a new object to change it. */
  edgeLocation?: EdgeLocation;
  /** The frozen clock of the invocation (Date.now() inside the function). Defaults to the wall clock. */
  now?: number;
  /**
   * The query string exactly as received (without '?'; undefined when the URL had no '?'), returned by
   * `request.rawQueryString()`. Defaults to the event's querystring re-encoded.
   */
  rawQueryString?: string;
  /**
   * Seed of Math.random() inside the function for this invocation. Default: a fresh one per invocation. A dry run
   * passes the same seed to the current and the proposed code, so randomness alone never shows as a change.
   */
  seed?: number;
  /** false: leave `kvsReads` empty, for callers that will not look at it (the edge when nobody traces). */
  recordKvsReads?: boolean;
  /**
   * runOffThread/runAdaptive: `quarantine` runs the invocation on a second isolate of the same function, created on
   * first use. The edge sends there the inputs that were killed before, so that they cannot hold up the others.
   */
  lane?: 'shared' | 'quarantine';
}

/** One KVS read made during an invocation, for the decision trace. */
export interface KvsRead {
  storeId: string;
  /** The id or ARN the code passed to `cf.kvs()`, when it named the store by anything other than `storeId`. */
  requestedId?: string;
  op: 'get' | 'exists' | 'meta';
  key?: string;
  /** Store version the read saw. */
  version: number;
  hit: boolean;
}

/** An origin change requested through the cloudfront module's helpers; the edge applies it. */
export type OriginChange =
  | { kind: 'update'; params: Record<string, unknown> }
  | { kind: 'select'; originId: string; overrides?: Record<string, unknown> }
  | { kind: 'group'; params: Record<string, unknown> };

export type ErrorClass = 'validation' | 'execution';

export interface FunctionError {
  code: ErrorCode;
  errorClass: ErrorClass;
  message: string;
}

/** What every invocation reports, whatever it produced. */
export interface InvocationReport {
  /** console.log lines, truncated like CloudFront's. */
  logs: string[];
  /** 0–100: elapsed / CPU budget. */
  computeUtilization: number;
  /**
   * Time of the invocation in microseconds: wall time for run/runSync; for runOffThread/runAdaptive the isolate's
   * CPU time (a batch's shared evenly among its invocations).
   */
  elapsedMicros: number;
  /** runOffThread/runAdaptive: how many invocations ran in the same call into the isolate (1: alone). */
  batchSize?: number;
  /** Set by the cloudfront module's origin helpers (kept on an error result too, for the trace). */
  originChange?: OriginChange;
  customLogData?: string;
  kvsReads: KvsRead[];
}

/** A viewer-request function returned the request to forward (to the cache and the origin). */
export interface FunctionRequestResult extends InvocationReport {
  kind: 'request';
  request: CFRequest;
}

/** The function returned a response: the viewer gets it (from viewer-request: without going to the origin). */
export interface FunctionResponseResult extends InvocationReport {
  kind: 'response';
  response: CFResponse;
}

/** The function threw, ran out of CPU or memory, or returned something CloudFront would refuse. */
export interface FunctionErrorResult extends InvocationReport {
  kind: 'error';
  error: FunctionError;
}

/** What one invocation produced: a request to forward, a response to send, or an error. `kind` says which. */
export type FunctionResult = FunctionRequestResult | FunctionResponseResult | FunctionErrorResult;

/** CloudFront's TestResult field names (TestFunction, `openfront test-function`). */
export interface TestResult {
  FunctionOutput: string;
  FunctionErrorMessage: string;
  FunctionExecutionLogs: string[];
  ComputeUtilization: string;
}

import type { FunctionCoverage } from './sandbox/isolate-coverage.js';

export interface LoadOptions {
  runtime?: RuntimeVersion;
  /** Shown in errors and traces. */
  name?: string;
  limits?: Partial<RuntimeLimits>;
  /**
   * Measure which parts of the code run (`openfront test --coverage`): the isolate gets an inspector and V8's
   * block coverage; every invocation is slower. Off by default, and then it costs nothing.
   */
  coverage?: boolean;
}

export interface CloudFrontFunction {
  readonly name: string;
  readonly runtime: RuntimeVersion;
  /** sha256 of the code, hex. */
  readonly codeHash: string;
  /** Runs the handler. Never rejects for a function's own failure: that is `kind: 'error'`. */
  run(event: CFEvent, options?: InvokeOptions): Promise<FunctionResult>;
  /** run() without the promise: the invocation runs on the calling thread. */
  runSync(event: CFEvent, options?: InvokeOptions): FunctionResult;
  /**
   * The edge's way: runs on the isolate's own thread, batched with invocations that arrive while it is busy, so the
   * caller's event loop never waits for the function. `elapsedMicros` is the isolate's CPU time for the invocation
   * (a batch's CPU time is shared evenly among its invocations).
   */
  runOffThread(event: CFEvent, options?: InvokeOptions): Promise<FunctionResult>;
  /**
   * What the edge uses: runOffThread(), except for a cheap function that often calls back into the host (KVS reads
   * that miss the isolate's value cache, crypto digests): that one runs on the calling thread, where such a
   * callback costs ~1 µs instead of a wait for the event loop (docs/edge.md, "Functions run off the event loop").
   */
  runAdaptive(event: CFEvent, options?: InvokeOptions): Promise<FunctionResult>;
  /** Frees the isolate. */
  dispose(): void;
  /**
   * For a replaced version that requests may still hold: frees the isolate whenever nothing of it is queued or
   * running, without failing anything (an invocation that still comes loads a fresh one, freed again after it).
   */
  retire?(): void;
  /** Bytes of V8 heap the function's isolates use now (metrics). */
  heapUsedBytes?(): Promise<number>;
  /**
   * Loaded with `coverage: true`: V8's block counts of the code since the previous call (offsets into the code as
   * the checker prepared it, line for line the same as the source). [] otherwise.
   */
  takeCoverage?(): Promise<FunctionCoverage[]>;
}
