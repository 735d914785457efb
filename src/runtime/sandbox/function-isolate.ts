/**
 * One function's V8 isolate (isolated-vm): its own heap with a hard memory cap, the CloudFront surface installed by
 * the bootstrap, the user's script run once, and a dispatcher called with a hard time limit.
 *
 * Two ways in:
 * - `invoke`: one invocation on the calling thread (applySync). Exact wall time; what tests and TestFunction use.
 * - `invokeOffThread`: the edge's way. The invocation runs on isolated-vm's own thread (apply), so the event loop
 *   keeps serving HTTP meanwhile and a slow function never stalls other requests. Invocations are handed over in
 *   batches: those of one event-loop turn go together at the end of the turn (setImmediate), and while a call is
 *   in flight new ones queue and go together as soon as it returns (group commit). One thread handoff and one timed
 *   entry serve many invocations under load; an idle edge waits only for the end of the current turn.
 *
 * A kill (time or memory) throws the isolate away; the next invocation loads a fresh one, so one runaway
 * invocation never poisons the next. When a batch is killed, its invocations are run again one by one (functions
 * have no side effects outside their isolate, and each keeps its clock, seed and KVS snapshot), so only the
 * invocation that is really over the limit fails.
 */
import ivm from './isolated-vm.js';
import { errorForFunction, isOpenFrontError, OpenFrontError } from '../../errors.js';
import type { RuntimeVersion } from '../event.js';
import type { RuntimeLimits } from '../types.js';
import { preludeSource } from '../builtins/prelude.js';
import { hostDigest } from '../builtins/host-digest.js';
import { PACK, USER_SCRIPT_FILENAME } from './isolate-contract.js';
import { isolateScript } from './isolate-scripts.js';
import { neverSettled, outcomeOf, type Pair, type RawOutcome } from './outcome-wire.js';
import { disposeAtExit, releaseAtExit } from './exit-guard.js';
import { InspectorCoverage, type FunctionCoverage } from './isolate-coverage.js';

/** Answers `cf.kvs()` reads for one invocation. Throwing rejects the function's promise. */
export type KvsCallback = (op: 'get' | 'exists' | 'meta', storeId: string | null, key: string) => string | undefined;

export interface DispatchInput {
  /** The event in event-wire.ts's compact form (or JSON). */
  eventWire: string;
  rawQueryString: string | null;
  now: number;
  seed: number;
  edgeLocationJson: string | null;
  /**
   * Identifies the snapshot of the function's own store for this invocation (0: none). Values the isolate cached
   * under the same token are still right; a new token makes it start over.
   */
  kvsToken: number;
  kvs: KvsCallback;
  /** false: the isolate does not log KVS reads (nobody will look at them). */
  recordKvsReads: boolean;
}

interface LiveIsolate {
  isolate: ivm.Isolate;
  dispatch: ivm.Reference<(packed: string) => Pair>;
  dispatchBatch: ivm.Reference<(joined: string) => Array<Pair | undefined>>;
  /** Set when the owner disposed it (not a kill): calls still in flight must not be retried. */
  unloaded: boolean;
  /** Coverage mode only (loadWithCoverage). */
  coverage?: InspectorCoverage;
}

/** What an off-thread invocation produced, and the isolate CPU time it is charged. */
export interface OffThreadOutcome {
  outcome: RawOutcome;
  /** CPU time of the isolate for this invocation; within a batch, the batch's CPU time shared evenly. */
  cpuMicros: number;
  /** How many invocations ran in the same call (1: alone, the CPU time is its own). */
  batchSize: number;
}

interface Queued {
  input: DispatchInput;
  resolve: (result: OffThreadOutcome) => void;
  /** Run alone: set after the batch it was in was killed. */
  solo: boolean;
  /** Came through invokeAdaptive: may run on the calling thread when the function prefers it. */
  mayRunInline: boolean;
}

/** Batches stay small enough that their expected run time is a quarter of the kill limit. */
const MAX_BATCH = 64;
/**
 * Above this many host callbacks per invocation (KVS reads that miss the isolate's cache, crypto digests),
 * invokeAdaptive runs on the calling thread: from the isolate's thread each callback waits for the event loop.
 */
const INLINE_ABOVE_HOST_CALLS = 0.05;
/**
 * ...but only while it stays within its CPU budget there (the budget behind ComputeUtilization, 1 ms by default):
 * a kill, or a running mean above the budget per inline invocation, sends it back off-thread for INLINE_BACKOFF_MS.
 * (Off-thread CPU time cannot tell: it includes the waits for the event loop that callbacks cause. A mean, not
 * single samples: the isolate's own garbage collections make a few invocations take milliseconds.)
 */
const INLINE_BACKOFF_MS = 60_000;

/** Compiled prelude/bootstrap code cache, shared by every isolate so a cold load skips re-parsing them. */
const codeCache = new Map<string, ivm.ExternalCopy<ArrayBuffer>>();
releaseAtExit(() => codeCache.clear());

function compileCached(isolate: ivm.Isolate, source: string, filename: string): ivm.Script {
  const key = `${filename}\0${source.length}\0${source.slice(0, 64)}`;
  const cachedData = codeCache.get(key);
  const script = isolate.compileScriptSync(source, cachedData ? { filename, cachedData } : { filename, produceCachedData: true });
  const produced = (script as ivm.Script & ivm.CachedDataResult).cachedData;
  if (!cachedData && produced) codeCache.set(key, produced);
  return script;
}

/** CloudFront Functions always run in strict mode; the directive shares line 1 so line numbers stay exact. */
const STRICT_PREFIX = "'use strict';";

/** Wires the bootstrap: the host object is built inside the isolate so that only the host callbacks cross over. */
const BOOTSTRAP_CALL = 'return $0($1, { kvs: $2, digest: $3, maxLogBytes: $4 }, $5);';
const BOOTSTRAP_CALL_OPTIONS = { result: { reference: true }, timeout: 1000 } as const;

function timeoutMs(limits: RuntimeLimits): number {
  return Math.max(1, Math.ceil(limits.killAfterMicros / 1000));
}

export class FunctionIsolate {
  readonly #script: string;
  readonly #runtime: RuntimeVersion;
  readonly #limits: RuntimeLimits;
  /** The same options object for every invocation: the result is copied out after the microtask checkpoint. */
  readonly #dispatchOptions: { timeout: number; result: { copy: true } };
  #live: LiveIsolate | undefined;
  /** The inputs of the invocations in flight, by the id the isolate passes back with each KVS read. */
  readonly #inFlight = new Map<number, DispatchInput>();
  #lastId = 0;
  readonly #queue: Queued[] = [];
  #batchRunning = false;
  #startScheduled = false;
  /** Running mean of the CPU time of one invocation (µs), which bounds the batch size. */
  #meanMicros = 0;
  /** Host callbacks made so far, and their running mean per invocation. */
  #hostCalls = 0;
  #meanHostCalls = 0;
  /**
   * Running mean of the CPU time of one inline invocation (µs). It starts at half the budget, so that one slow
   * first run (the isolate moving to this thread costs a few hundred µs once) does not count as a slow function.
   */
  #meanInlineMicros: number;
  /** When the function was last sent back off-thread (performance.now() ms; -Infinity: never). */
  #inlineBackoffAt = -Infinity;
  /** loadWithCoverage() was used: every isolate of this function should measure. */
  #coverageMode = false;
  /** retire() was called: the isolate is freed whenever nothing is queued or running. */
  #retired = false;

  constructor(script: string, runtime: RuntimeVersion, limits: RuntimeLimits) {
    this.#script = script;
    this.#runtime = runtime;
    this.#limits = limits;
    this.#dispatchOptions = { timeout: timeoutMs(limits), result: { copy: true } };
    this.#meanInlineMicros = limits.cpuBudgetMicros / 2;
  }

  /** Creates the isolate and runs the user's top-level code. Throws OpenFrontError when the code cannot load. */
  load(): void {
    if (this.#live) return;
    this.#loadInto(new ivm.Isolate({ memoryLimit: this.#limits.memoryLimitMb }));
  }

  /**
   * load() with V8's block coverage of the function's script (`openfront test --coverage`): the isolate gets an
   * inspector, which only this mode pays for, and coverage starts before the script is compiled.
   */
  async loadWithCoverage(): Promise<void> {
    this.#coverageMode = true;
    if (this.#live) return;
    const isolate = new ivm.Isolate({ memoryLimit: this.#limits.memoryLimitMb, inspector: true });
    let coverage: InspectorCoverage;
    try {
      coverage = await InspectorCoverage.start(isolate);
    } catch (err) {
      isolate.dispose();
      throw err;
    }
    if (this.#live) {
      coverage.dispose();
      isolate.dispose();
      return;
    }
    this.#loadInto(isolate, coverage);
  }

  /** Coverage mode: the block counts of the function's script since the previous take, as offsets into its code. */
  async takeCoverage(): Promise<FunctionCoverage[]> {
    const live = this.#live;
    if (live?.coverage === undefined) {
      // Reloaded by an invocation after a kill, without coverage: the next loadWithCoverage() replaces it.
      if (live !== undefined && this.#coverageMode) this.#discard(live);
      return [];
    }
    const functions = await live.coverage.take(USER_SCRIPT_FILENAME);
    const shift = (offset: number) => Math.max(0, offset - STRICT_PREFIX.length);
    return functions.map((fn) => ({ ...fn, ranges: fn.ranges.map((r) => ({ ...r, startOffset: shift(r.startOffset), endOffset: shift(r.endOffset) })) }));
  }

  #loadInto(isolate: ivm.Isolate, coverage?: InspectorCoverage): void {
    try {
      const context = isolate.createContextSync(coverage ? { inspector: true } : {});
      // A coverage isolate compiles with counters: its code must neither use nor feed the shared code cache.
      const compile = coverage
        ? (source: string, filename: string) => isolate.compileScriptSync(source, { filename })
        : (source: string, filename: string) => compileCached(isolate, source, filename);
      const prelude = compile(preludeSource(this.#runtime), 'openfront:prelude').runSync(context, { reference: true }) as ivm.Reference;
      const bootstrap = compile(isolateScript('bootstrap'), 'openfront:bootstrap').runSync(context, { reference: true }) as ivm.Reference<
        (...args: unknown[]) => unknown
      >;
      const entries = context.evalClosureSync(BOOTSTRAP_CALL, this.#bootstrapArguments(bootstrap, prelude), BOOTSTRAP_CALL_OPTIONS) as ivm.Reference<
        Record<string, unknown>
      >;
      const dispatch = entries.getSync('dispatch', { reference: true }) as LiveIsolate['dispatch'];
      const dispatchBatch = entries.getSync('dispatchBatch', { reference: true }) as LiveIsolate['dispatchBatch'];
      this.#runUserScript(isolate, context);
      this.#live = { isolate, dispatch, dispatchBatch, unloaded: false, ...(coverage ? { coverage } : {}) };
      disposeAtExit(this);
    } catch (err) {
      coverage?.dispose();
      if (!isolate.isDisposed) isolate.dispose();
      throw err;
    }
  }

  /**
   * load() without blocking the calling thread: every step that runs code in the isolate (the bootstrap, the
   * user's top-level code up to its kill) runs on isolated-vm's own thread. For loads an API caller triggers
   * (TestFunction), so that code under test never holds up the edge's event loop.
   */
  async loadAsync(): Promise<void> {
    if (this.#live) return;
    const isolate = new ivm.Isolate({ memoryLimit: this.#limits.memoryLimitMb });
    try {
      const context = await isolate.createContext();
      const prelude = (await compileCached(isolate, preludeSource(this.#runtime), 'openfront:prelude').run(context, { reference: true })) as ivm.Reference;
      const bootstrap = (await compileCached(isolate, isolateScript('bootstrap'), 'openfront:bootstrap').run(context, { reference: true })) as ivm.Reference<
        (...args: unknown[]) => unknown
      >;
      const entries = (await context.evalClosure(BOOTSTRAP_CALL, this.#bootstrapArguments(bootstrap, prelude), BOOTSTRAP_CALL_OPTIONS)) as ivm.Reference<
        Record<string, unknown>
      >;
      const dispatch = (await entries.get('dispatch', { reference: true })) as LiveIsolate['dispatch'];
      const dispatchBatch = (await entries.get('dispatchBatch', { reference: true })) as LiveIsolate['dispatchBatch'];
      let script: ivm.Script;
      try {
        script = await isolate.compileScript(`${STRICT_PREFIX}${this.#script}`, { filename: USER_SCRIPT_FILENAME });
      } catch (err) {
        throw compileFailure(err);
      }
      try {
        await script.run(context, { timeout: timeoutMs(this.#limits) });
      } catch (err) {
        throw topLevelFailure(err, isolate);
      }
      if (this.#live) throw new OpenFrontError('INTERNAL', 'The isolate was loaded twice at once');
      this.#live = { isolate, dispatch, dispatchBatch, unloaded: false };
      disposeAtExit(this);
    } catch (err) {
      if (!isolate.isDisposed) isolate.dispose();
      throw err;
    }
  }

  /** BOOTSTRAP_CALL's arguments: the two scripts, the two host functions (load and loadAsync), the log cap, the runtime. */
  #bootstrapArguments(bootstrap: ivm.Reference, prelude: ivm.Reference): unknown[] {
    const { kvs, digest } = this.#hostCallbacks();
    return [bootstrap.derefInto(), prelude.derefInto(), kvs, digest, this.#limits.maxLogBytes, this.#runtime];
  }

  #hostCallbacks(): { kvs: ivm.Callback; digest: ivm.Callback } {
    const kvs = new ivm.Callback((op: 'get' | 'exists' | 'meta', storeId: string | null, key: string, invocation: number) => {
      this.#hostCalls++;
      const current = this.#inFlight.get(invocation);
      if (!current) throw errorForFunction('KeyValueStore reads are only possible while the handler runs');
      try {
        return current.kvs(op, storeId, key);
      } catch (err) {
        throw errorForFunction(err instanceof Error ? err.message : String(err));
      }
    });
    const digest = new ivm.Callback((algorithm: string, key: string | null, data: string) => {
      this.#hostCalls++;
      return hostDigest(algorithm, key, data);
    });
    return { kvs, digest };
  }

  #runUserScript(isolate: ivm.Isolate, context: ivm.Context): void {
    let script: ivm.Script;
    try {
      script = isolate.compileScriptSync(`${STRICT_PREFIX}${this.#script}`, { filename: USER_SCRIPT_FILENAME });
    } catch (err) {
      throw compileFailure(err);
    }
    try {
      script.runSync(context, { timeout: timeoutMs(this.#limits) });
    } catch (err) {
      throw topLevelFailure(err, isolate);
    }
  }

  /** Runs the handler once on the calling thread. Never throws: a load failure is the outcome too. */
  invoke(input: DispatchInput): RawOutcome {
    const outcome = this.#invokeHere(input);
    this.#freeIfRetiredAndIdle();
    return outcome;
  }

  #invokeHere(input: DispatchInput): RawOutcome {
    try {
      this.load();
    } catch (err) {
      return loadFailure(err);
    }
    const live = this.#live as LiveIsolate;
    const id = this.#register(input);
    const hostCallsBefore = this.#hostCalls;
    let returned: Pair;
    try {
      returned = live.dispatch.applySync(undefined, [packDispatch(input, id)], this.#dispatchOptions);
    } catch (err) {
      const reason = killReason(err, live.isolate);
      this.#discard(live);
      if (reason) {
        this.#backOffInline();
        return { kind: 'killed', reason, logs: [] };
      }
      return { kind: 'error', message: errorText(err), logs: [] };
    } finally {
      this.#inFlight.delete(id);
      this.#noteHostCalls(this.#hostCalls - hostCallsBefore, 1);
    }
    return outcomeOf(returned);
  }

  /**
   * The edge's way: off-thread (invokeOffThread), except for a function that calls back into the host often (see
   * INLINE_ABOVE_HOST_CALLS): that one runs on the calling thread, where a callback costs ~1 µs instead of a wait
   * for the event loop — at once when nothing of it is running, otherwise as soon as the running batch returns
   * (the isolate can only be entered from one thread at a time).
   */
  invokeAdaptive(input: DispatchInput): Promise<OffThreadOutcome> {
    if (!this.#prefersInline()) return this.invokeOffThread(input);
    if (!this.#batchRunning && this.#queue.length === 0) return Promise.resolve(this.#runInline(input));
    return new Promise((resolve) => this.#enqueue({ input, resolve, solo: false, mayRunInline: true }));
  }

  /** Runs the handler on the isolate's own thread, batched with the invocations queued meanwhile. Never rejects. */
  invokeOffThread(input: DispatchInput): Promise<OffThreadOutcome> {
    return new Promise((resolve) => this.#enqueue({ input, resolve, solo: false, mayRunInline: false }));
  }

  #prefersInline(): boolean {
    return this.#meanHostCalls > INLINE_ABOVE_HOST_CALLS && performance.now() - this.#inlineBackoffAt > INLINE_BACKOFF_MS;
  }

  #runInline(input: DispatchInput): OffThreadOutcome {
    let live: LiveIsolate | undefined;
    try {
      this.load();
      live = this.#live;
    } catch {
      // invoke() reports the load failure as the outcome.
    }
    const cpuBefore = live?.isolate.cpuTime ?? 0n;
    const outcome = this.invoke(input);
    const cpuMicros = live === undefined ? 0 : cpuMicrosSince(live, cpuBefore);
    if (outcome.kind !== 'killed') {
      this.#meanInlineMicros = this.#meanInlineMicros * 0.9 + cpuMicros * 0.1;
      if (this.#meanInlineMicros > this.#limits.cpuBudgetMicros) this.#backOffInline();
    }
    return { outcome, cpuMicros, batchSize: 1 };
  }

  #enqueue(entry: Queued): void {
    this.#queue.push(entry);
    if (this.#batchRunning || this.#startScheduled) return;
    // The rest of this event-loop turn's requests join the batch: fewer, larger handoffs (the bench's CPU per
    // request fell ~8% against starting at once).
    this.#startScheduled = true;
    setImmediate(() => {
      this.#startScheduled = false;
      if (!this.#batchRunning) this.#next();
    });
  }

  /** Whatever is queued: inline while the function prefers it (and the caller allowed it), the rest as a batch. */
  #next(): void {
    const queue = this.#queue;
    while (queue.length > 0 && (queue[0] as Queued).mayRunInline && this.#prefersInline()) {
      const entry = queue.shift() as Queued;
      entry.resolve(this.#runInline(entry.input));
    }
    this.#startBatch();
    this.#freeIfRetiredAndIdle();
  }

  #startBatch(): void {
    const queue = this.#queue;
    if (queue.length === 0) return;
    const limit = this.#meanMicros === 0 ? MAX_BATCH : Math.max(1, Math.min(MAX_BATCH, Math.floor(this.#limits.killAfterMicros / 4 / this.#meanMicros)));
    let size = 1;
    if (!(queue[0] as Queued).solo) while (size < queue.length && size < limit && !(queue[size] as Queued).solo) size++;
    const batch = queue.splice(0, size);
    try {
      this.load();
    } catch (err) {
      const outcome = loadFailure(err);
      for (const entry of [...batch, ...queue.splice(0)]) entry.resolve({ outcome, cpuMicros: 0, batchSize: 1 });
      return;
    }
    const live = this.#live as LiveIsolate;
    const ids = batch.map((entry) => this.#register(entry.input));
    let joined = '';
    for (let i = 0; i < batch.length; i++) {
      const packed = packDispatch((batch[i] as Queued).input, ids[i] as number);
      joined += `${packed.length}:${packed}`;
    }
    this.#batchRunning = true;
    const cpuBefore = live.isolate.cpuTime;
    const hostCallsBefore = this.#hostCalls;
    live.dispatchBatch.apply(undefined, [joined], this.#dispatchOptions).then(
      (pairs) => this.#finishBatch(batch, ids, pairs, cpuMicrosSince(live, cpuBefore), this.#hostCalls - hostCallsBefore),
      (err: unknown) => this.#failBatch(batch, ids, live, err),
    );
  }

  #finishBatch(batch: Queued[], ids: number[], pairs: Array<Pair | undefined>, cpuMicros: number, hostCalls: number): void {
    for (const id of ids) this.#inFlight.delete(id);
    // Slots after the first empty one never started (the one before them never settled): they go again.
    let ran = batch.length;
    for (let i = 0; i < batch.length; i++)
      if (pairs[i] === undefined) {
        ran = i + 1;
        break;
      }
    const share = cpuMicros / ran;
    this.#meanMicros = this.#meanMicros === 0 ? share : this.#meanMicros * 0.9 + share * 0.1;
    this.#noteHostCalls(hostCalls, ran);
    for (let i = 0; i < ran; i++) {
      const pair = pairs[i];
      (batch[i] as Queued).resolve({ outcome: pair === undefined ? neverSettled() : outcomeOf(pair), cpuMicros: share, batchSize: ran });
    }
    this.#queue.unshift(...batch.slice(ran));
    this.#batchRunning = false;
    this.#next();
  }

  #failBatch(batch: Queued[], ids: number[], live: LiveIsolate, err: unknown): void {
    for (const id of ids) this.#inFlight.delete(id);
    const reason = live.unloaded ? undefined : killReason(err, live.isolate);
    this.#discard(live);
    if (reason !== undefined) this.#backOffInline();
    if (reason !== undefined && batch.length > 1) {
      // Which one was over the limit is unknown: each runs again alone, with its own limit.
      for (const entry of batch) entry.solo = true;
      this.#queue.unshift(...batch);
    } else {
      const outcome: RawOutcome =
        reason !== undefined ? { kind: 'killed', reason, logs: [] } : { kind: 'error', message: live.unloaded ? UNLOADED : errorText(err), logs: [] };
      for (const entry of batch) entry.resolve({ outcome, cpuMicros: 0, batchSize: batch.length });
    }
    this.#batchRunning = false;
    this.#next();
  }

  #backOffInline(): void {
    this.#inlineBackoffAt = performance.now();
    this.#meanInlineMicros = this.#limits.cpuBudgetMicros / 2;
  }

  #noteHostCalls(calls: number, invocations: number): void {
    // Weighted by invocation count, so a batch counts as much as the same invocations run alone.
    const weight = Math.min(1, 0.05 * invocations);
    this.#meanHostCalls += (calls / invocations - this.#meanHostCalls) * weight;
  }

  #register(input: DispatchInput): number {
    const id = ++this.#lastId;
    this.#inFlight.set(id, input);
    return id;
  }

  /** Throws away `live` after a kill, unless it was already replaced. */
  #discard(live: LiveIsolate): void {
    if (this.#live === live) this.#live = undefined;
    live.coverage?.dispose();
    if (!live.isolate.isDisposed) live.isolate.dispose();
  }

  /**
   * For a version that was replaced while requests may still hold it: frees the isolate as soon as nothing of it is
   * queued or running (at once when idle). Unlike dispose() nothing fails: an invocation that still comes loads a
   * fresh isolate, which is freed again when it is done. Publishing often would otherwise keep every replaced
   * version's isolate (a few MB each on Node 24) alive for the owner's whole grace period (docs/node-versions.md).
   */
  retire(): void {
    this.#retired = true;
    this.#freeIfRetiredAndIdle();
  }

  #freeIfRetiredAndIdle(): void {
    const live = this.#live;
    if (!this.#retired || live === undefined || this.#batchRunning || this.#startScheduled || this.#queue.length > 0) return;
    this.#live = undefined;
    live.unloaded = true;
    live.coverage?.dispose();
    if (!live.isolate.isDisposed) live.isolate.dispose();
  }

  /** Bytes of V8 heap the isolate uses now (0 when it is not loaded): for the node's metrics. */
  async heapUsedBytes(): Promise<number> {
    const live = this.#live;
    if (live === undefined || live.isolate.isDisposed) return 0;
    try {
      return (await live.isolate.getHeapStatistics()).used_heap_size;
    } catch {
      // Disposed (replaced or killed) while the statistics were on their way.
      return 0;
    }
  }

  /** Frees the isolate; invocations still queued or in flight finish with an error. */
  dispose(): void {
    const live = this.#live;
    this.#live = undefined;
    if (live) {
      live.unloaded = true;
      live.coverage?.dispose();
      if (!live.isolate.isDisposed) live.isolate.dispose();
    }
    const outcome: RawOutcome = { kind: 'error', message: UNLOADED, logs: [] };
    for (const entry of this.#queue.splice(0)) entry.resolve({ outcome, cpuMicros: 0, batchSize: 1 });
  }
}

/** What a throw from the user's top-level code means, as the error loading reports. */
function compileFailure(err: unknown): OpenFrontError {
  return new OpenFrontError('FUNCTION_COMPILE_ERROR', `The function code does not compile: ${errorText(err)}`);
}

function topLevelFailure(err: unknown, isolate: ivm.Isolate): OpenFrontError {
  const reason = killReason(err, isolate);
  if (reason === 'cpu') return new OpenFrontError('FUNCTION_CPU_LIMIT_EXCEEDED', 'The function top-level code exceeded its CPU time budget');
  if (reason === 'memory') return new OpenFrontError('FUNCTION_MEMORY_LIMIT_EXCEEDED', 'The function top-level code exceeded its memory limit');
  return new OpenFrontError('FUNCTION_EXECUTION_ERROR', `The function top-level code threw: ${errorText(err)}`);
}

function cpuMicrosSince(live: LiveIsolate, before: bigint): number {
  return live.isolate.isDisposed ? 0 : Number(live.isolate.cpuTime - before) / 1000;
}

/** The one string per invocation (the comment above `runInvocation` in isolate/dispatcher.ts describes the layout). */
function packDispatch(input: DispatchInput, id: number): string {
  const raw = input.rawQueryString;
  const rawField = raw === null ? '\u0003' : raw.includes(PACK) ? `j${JSON.stringify(raw)}` : `q${raw}`;
  const edgeField = input.edgeLocationJson ?? '\u0003';
  return `${input.now}${PACK}${input.seed}${PACK}${input.kvsToken}${PACK}${id}${PACK}${input.recordKvsReads ? '1' : '0'}${PACK}${rawField}${PACK}${edgeField}${PACK}${input.eventWire}`;
}

const UNLOADED = 'The function was unloaded before the invocation ran';

/** The isolate could not even be (re)loaded: reported as the invocation's execution error. */
function loadFailure(err: unknown): RawOutcome {
  return { kind: 'error', message: isOpenFrontError(err) ? err.message : String(err), logs: [] };
}

function killReason(err: unknown, isolate: ivm.Isolate): 'cpu' | 'memory' | undefined {
  const message = err instanceof Error ? err.message : String(err);
  if (isolate.isDisposed || /memory limit/i.test(message)) return 'memory';
  if (/timed out/i.test(message)) return 'cpu';
  return undefined;
}

function errorText(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
