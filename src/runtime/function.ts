/**
 * `loadFunction`: check the code like CloudFront would, load it into its own isolate, and run it per event,
 * turning whatever happens (a result, a throw, a kill) into a FunctionResult with CloudFront's error classes.
 */
import { createHash, randomInt } from 'node:crypto';
import { isOpenFrontError, OpenFrontError, type ErrorCode } from '../errors.js';
import { prepareSource, type SourceProblem } from './checker.js';
import { RUNTIMES, type CFEvent, type RuntimeVersion } from './event.js';
import { InvocationKvsReader, toKvsBinding } from './kvs-access.js';
import { resolveRuntimeLimits } from './limits.js';
import { originChangeProblem } from './origin-change.js';
import { encodeEvent } from './sandbox/event-wire.js';
import { FunctionIsolate, type DispatchInput, type OffThreadOutcome } from './sandbox/function-isolate.js';
import type { RawOutcome } from './sandbox/outcome-wire.js';
import type { FunctionCoverage } from './sandbox/isolate-coverage.js';
import { serializeQueryString } from './codec.js';
import { validateResult } from './validate.js';
import type { CloudFrontFunction, EdgeLocation, FunctionError, FunctionResult, InvokeOptions, LoadOptions, OriginChange, RuntimeLimits } from './types.js';

/** With `coverage`, a function is stopped this many times later than killAfterMicros says. */
const COVERAGE_KILL_HEADROOM = 10;

/** The runtime a function gets when none is named: new CloudFront functions default to 2.0. */
export const DEFAULT_RUNTIME: RuntimeVersion = 'cloudfront-js-2.0';

export function assertRuntime(runtime: string): asserts runtime is RuntimeVersion {
  if (!(RUNTIMES as readonly string[]).includes(runtime)) {
    throw new OpenFrontError('FUNCTION_RUNTIME_UNKNOWN', `Unknown runtime "${runtime}" (expected ${RUNTIMES.join(' or ')})`);
  }
}

/** Thrown by loadFunction when CloudFront would refuse the code; `problems` carries every line:col. */
export function sourceProblemsError(name: string, problems: SourceProblem[]): OpenFrontError {
  const first = problems[0] as SourceProblem;
  const lines = problems.map((p) => `${name}:${p.line}:${p.column} ${p.message}`);
  return new OpenFrontError(first.code, lines.join('\n'), { problems });
}

export async function loadFunction(code: string, options: LoadOptions = {}): Promise<CloudFrontFunction> {
  if (!options.coverage) return loadFunctionSync(code, options);
  const { name, runtime, limits, script, isolate } = prepareIsolate(code, options);
  await isolate.loadWithCoverage();
  return new SandboxedFunction(name, runtime, createHash('sha256').update(code).digest('hex'), limits, isolate, script, true);
}

/** Synchronous form of {@link loadFunction}, for callers that swap functions without yielding. */
export function loadFunctionSync(code: string, options: LoadOptions = {}): CloudFrontFunction {
  if (options.coverage)
    throw new OpenFrontError('FUNCTION_COVERAGE_UNAVAILABLE', 'Coverage is measured only by the asynchronous loadFunction(), not loadFunctionSync()');
  const { name, runtime, limits, script, isolate } = prepareIsolate(code, options);
  isolate.load();
  return new SandboxedFunction(name, runtime, createHash('sha256').update(code).digest('hex'), limits, isolate, script);
}

function prepareIsolate(
  code: string,
  options: LoadOptions,
): { name: string; runtime: RuntimeVersion; limits: RuntimeLimits; script: string; isolate: FunctionIsolate } {
  const runtime = options.runtime ?? DEFAULT_RUNTIME;
  assertRuntime(runtime);
  const name = options.name ?? 'function';
  let limits = resolveRuntimeLimits(options.limits);
  const prepared = prepareSource(code, runtime, { maxCodeBytes: limits.maxCodeBytes });
  if (!prepared.ok) throw sourceProblemsError(name, prepared.problems);
  // Block coverage makes the first runs of each function much slower (compiling with counters, an inspector
  // attached): a runaway function is still stopped, only later. ComputeUtilization means little in this mode.
  if (options.coverage) limits = { ...limits, killAfterMicros: limits.killAfterMicros * COVERAGE_KILL_HEADROOM };
  return { name, runtime, limits, script: prepared.script, isolate: new FunctionIsolate(prepared.script, runtime, limits) };
}

/**
 * {@link loadFunction} whose isolate is built and whose top-level code runs on isolated-vm's own thread: the
 * caller's event loop goes on meanwhile. Pair it with runOffThread for work an API caller triggers (TestFunction),
 * so that code under test never holds up the edge on the same process.
 */
export async function loadFunctionOffThread(code: string, options: LoadOptions = {}): Promise<CloudFrontFunction> {
  if (options.coverage) return loadFunction(code, options);
  const { name, runtime, limits, script, isolate } = prepareIsolate(code, options);
  await isolate.loadAsync();
  return new SandboxedFunction(name, runtime, createHash('sha256').update(code).digest('hex'), limits, isolate, script);
}

const EXECUTION_CODES: Record<'cpu' | 'memory', ErrorCode> = {
  cpu: 'FUNCTION_CPU_LIMIT_EXCEEDED',
  memory: 'FUNCTION_MEMORY_LIMIT_EXCEEDED',
};

class SandboxedFunction implements CloudFrontFunction {
  readonly name: string;
  readonly runtime: RuntimeVersion;
  readonly codeHash: string;
  readonly #limits: RuntimeLimits;
  readonly #isolate: FunctionIsolate;
  readonly #script: string;
  readonly #coverage: boolean;
  /** The second isolate for `lane: 'quarantine'`, created on first use. */
  #quarantine: FunctionIsolate | undefined;
  #disposed = false;

  constructor(name: string, runtime: RuntimeVersion, codeHash: string, limits: RuntimeLimits, isolate: FunctionIsolate, script: string, coverage = false) {
    this.#coverage = coverage;
    this.name = name;
    this.runtime = runtime;
    this.codeHash = codeHash;
    this.#limits = limits;
    this.#isolate = isolate;
    this.#script = script;
  }

  #lane(options: InvokeOptions): FunctionIsolate {
    if (options.lane !== 'quarantine' || this.#disposed) return this.#isolate;
    return (this.#quarantine ??= new FunctionIsolate(this.#script, this.runtime, this.#limits));
  }

  run(event: CFEvent, options: InvokeOptions = {}): Promise<FunctionResult> {
    try {
      return Promise.resolve(this.runSync(event, options));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** The same as run() without the promise: the work is synchronous inside the isolate anyway. */
  runSync(event: CFEvent, options: InvokeOptions = {}): FunctionResult {
    const { input, reader } = this.#prepare(event, options);
    const started = process.hrtime.bigint();
    const outcome = this.#isolate.invoke(input);
    return this.#complete(outcome, reader, event, Number(process.hrtime.bigint() - started) / 1000);
  }

  /**
   * Runs on the isolate's own thread, batched with invocations that arrive meanwhile (function-isolate.ts): the
   * edge's way, so that the event loop never waits for a function. `elapsedMicros` is the isolate's CPU time.
   */
  runOffThread(event: CFEvent, options: InvokeOptions = {}): Promise<FunctionResult> {
    const isolate = this.#lane(options);
    return this.#runQueued(event, options, (input) => isolate.invokeOffThread(input));
  }

  /** The edge's way: off-thread unless the function calls back into the host often (invokeAdaptive). */
  runAdaptive(event: CFEvent, options: InvokeOptions = {}): Promise<FunctionResult> {
    const isolate = this.#lane(options);
    return this.#runQueued(event, options, (input) => isolate.invokeAdaptive(input));
  }

  async #runQueued(event: CFEvent, options: InvokeOptions, invoke: (input: DispatchInput) => Promise<OffThreadOutcome>): Promise<FunctionResult> {
    const { input, reader } = this.#prepare(event, options);
    const { outcome, cpuMicros, batchSize } = await invoke(input);
    return { ...this.#complete(outcome, reader, event, cpuMicros), batchSize };
  }

  #prepare(event: CFEvent, options: InvokeOptions): { input: DispatchInput; reader: InvocationKvsReader } {
    const reader = new InvocationKvsReader(toKvsBinding(options.kvs));
    const rawQueryString = options.rawQueryString !== undefined ? options.rawQueryString : defaultRawQueryString(event);
    const input: DispatchInput = {
      eventWire: encodeEvent(event),
      rawQueryString: rawQueryString ?? null,
      now: options.now ?? Date.now(),
      seed: options.seed ?? nextSeed(),
      edgeLocationJson: event.context.eventType === 'viewer-request' && options.edgeLocation ? edgeLocationJson(options.edgeLocation) : null,
      kvsToken: reader.token,
      kvs: reader.read,
      recordKvsReads: options.recordKvsReads ?? true,
    };
    return { input, reader };
  }

  #complete(outcome: RawOutcome, reader: InvocationKvsReader, event: CFEvent, elapsedMicros: number): FunctionResult {
    const isViewerRequest = event.context.eventType === 'viewer-request';
    const base = {
      logs: outcome.logs,
      elapsedMicros,
      computeUtilization: Math.min(100, Math.round((elapsedMicros / this.#limits.cpuBudgetMicros) * 100)),
      kvsReads: outcome.kind === 'killed' ? [] : reader.describe(outcome.reads),
    };
    if (outcome.kind === 'killed') {
      const code = EXECUTION_CODES[outcome.reason];
      const message =
        outcome.reason === 'cpu'
          ? `The function exceeded its CPU time budget and was stopped after ${this.#limits.killAfterMicros / 1000} ms`
          : `The function exceeded its memory limit of ${this.#limits.memoryLimitMb} MB and was stopped`;
      return { kind: 'error', error: { code, errorClass: 'execution', message }, ...base, computeUtilization: 100 };
    }
    const extras = {
      ...(outcome.originChange ? { originChange: outcome.originChange as unknown as OriginChange } : {}),
      ...(outcome.customLogData !== undefined ? { customLogData: truncateUtf8(outcome.customLogData, 800) } : {}),
    };
    if (outcome.kind === 'error') {
      return { kind: 'error', error: executionError(outcome.message), ...base, ...extras };
    }
    if (outcome.kind === 'invalid') {
      return { kind: 'error', error: validationError(outcome.message), ...base, ...extras };
    }
    try {
      const validated = validateResult(outcome.value, event);
      if (extras.originChange) {
        const problem = isViewerRequest
          ? originChangeProblem(extras.originChange, new Set(Object.keys(event.request.headers)))
          : 'origin helpers can only be used in viewer-request functions';
        if (problem) return { kind: 'error', error: validationError(problem), ...base, ...extras };
      }
      return validated.kind === 'request'
        ? { kind: 'request', request: validated.request, ...base, ...extras }
        : { kind: 'response', response: validated.response, ...base, ...extras };
    } catch (err) {
      if (isOpenFrontError(err)) return { kind: 'error', error: validationError(err.message), ...base, ...extras };
      throw err;
    }
  }

  async heapUsedBytes(): Promise<number> {
    const [main, quarantine] = await Promise.all([this.#isolate.heapUsedBytes(), this.#quarantine?.heapUsedBytes() ?? 0]);
    return main + quarantine;
  }

  retire(): void {
    this.#isolate.retire();
    this.#quarantine?.retire();
  }

  dispose(): void {
    this.#disposed = true;
    this.#isolate.dispose();
    this.#quarantine?.dispose();
  }

  async takeCoverage(): Promise<FunctionCoverage[]> {
    if (!this.#coverage) return [];
    const functions = await this.#isolate.takeCoverage();
    // After a kill the isolate is gone with its counts: the next one must start with coverage too.
    await this.#isolate.loadWithCoverage().catch(() => {});
    return functions;
  }
}

/**
 * Math.random() inside the function is seeded per invocation. The seeds come from a xorshift stream started from
 * the OS RNG: a crypto call per invocation would cost more than the rest of the bookkeeping.
 */
let seedState = randomInt(1, 0x7fffffff);
function nextSeed(): number {
  let x = seedState;
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  seedState = x | 0 || 1;
  return seedState;
}

/** The edge passes the same location object to every invocation: serialise it once. */
let lastEdgeLocation: EdgeLocation | undefined;
let lastEdgeLocationJson = '';
function edgeLocationJson(location: EdgeLocation): string {
  if (location !== lastEdgeLocation) {
    lastEdgeLocationJson = JSON.stringify(location);
    lastEdgeLocation = location;
  }
  return lastEdgeLocationJson;
}

/** Without the original URL (a test event), rebuild the query string from the event; no parameters → no '?'. */
function defaultRawQueryString(event: CFEvent): string | undefined {
  const query = serializeQueryString(event.request.querystring ?? {});
  return query === '' ? undefined : query;
}

function executionError(message: string): FunctionError {
  return { code: 'FUNCTION_EXECUTION_ERROR', errorClass: 'execution', message };
}

function validationError(message: string): FunctionError {
  return { code: 'FUNCTION_VALIDATION_ERROR', errorClass: 'validation', message };
}

function truncateUtf8(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  return bytes.length <= maxBytes
    ? text
    : bytes
        .subarray(0, maxBytes)
        .toString('utf8')
        .replace(/\uFFFD$/, '');
}
