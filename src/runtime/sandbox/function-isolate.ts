/**
 * One function's V8 isolate (isolated-vm): its own heap with a hard memory cap, the CloudFront surface installed by
 * the bootstrap, the user's script run once, and a dispatcher called once per invocation with a hard time limit.
 *
 * A kill (time or memory) throws the isolate away; the next invocation loads a fresh one, so one runaway
 * invocation never poisons the next.
 */
import ivm from 'isolated-vm';
import { OpenFrontError } from '../../errors.js';
import type { RuntimeVersion } from '../event.js';
import type { RuntimeLimits } from '../types.js';
import { preludeSource } from '../builtins/prelude.js';
import { hostDigest } from '../builtins/host-digest.js';
import { BOOTSTRAP_SOURCE, USER_SCRIPT_FILENAME } from './bootstrap-source.js';
import { decodeResult } from './result-wire.js';


/** Answers `cf.kvs()` reads for the invocation in progress. Throwing rejects the function's promise. */
export type KvsCallback = (op: 'get' | 'exists' | 'meta', storeId: string | null, key: string) => string | undefined;

/** What one invocation produced, before validation. */
/**
 * The KVS reads as the isolate logged them, four flat slots per read (a flat array is cheaper to copy out than an
 * array of arrays): op, store id (null: the function's own store), key (null for meta), hit.
 */
export type RawReads = Array<'get' | 'exists' | 'meta' | string | null | boolean>;

interface RawExtras {
  logs: string[];
  reads?: RawReads;
  originChange?: Record<string, unknown>;
  customLogData?: string;
}
export type RawOutcome =
  | ({ kind: 'result'; value: unknown } & RawExtras)
  | ({ kind: 'error'; message: string } & RawExtras)
  | ({ kind: 'invalid'; message: string } & RawExtras)
  | { kind: 'killed'; reason: 'cpu' | 'memory'; logs: string[] };

interface DispatchInput {
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
}

interface LiveIsolate {
  isolate: ivm.Isolate;
  dispatch: ivm.Reference<(...args: unknown[]) => [string, string]>;
}

/** Compiled prelude/bootstrap code cache, shared by every isolate so a cold load skips re-parsing them. */
const codeCache = new Map<string, ivm.ExternalCopy<ArrayBuffer>>();

function compileCached(isolate: ivm.Isolate, source: string, filename: string): ivm.Script {
  const key = `${filename}\0${source.length}\0${source.slice(0, 64)}`;
  const cachedData = codeCache.get(key);
  const script = isolate.compileScriptSync(source, cachedData ? { filename, cachedData } : { filename, produceCachedData: true });
  const produced = (script as ivm.Script & ivm.CachedDataResult).cachedData;
  if (!cachedData && produced) codeCache.set(key, produced);
  return script;
}

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
  #current: DispatchInput | undefined;

  constructor(script: string, runtime: RuntimeVersion, limits: RuntimeLimits) {
    this.#script = script;
    this.#runtime = runtime;
    this.#limits = limits;
    this.#dispatchOptions = { timeout: timeoutMs(limits), result: { copy: true } };
  }

  /** Creates the isolate and runs the user's top-level code. Throws OpenFrontError when the code cannot load. */
  load(): void {
    if (this.#live) return;
    const isolate = new ivm.Isolate({ memoryLimit: this.#limits.memoryLimitMb });
    try {
      const context = isolate.createContextSync();
      const prelude = compileCached(isolate, preludeSource(this.#runtime), 'openfront:prelude').runSync(context, { reference: true }) as ivm.Reference;
      const bootstrap = compileCached(isolate, BOOTSTRAP_SOURCE, 'openfront:bootstrap').runSync(context, { reference: true }) as ivm.Reference<
        (...args: unknown[]) => unknown
      >;
      const kvs = new ivm.Callback((op: 'get' | 'exists' | 'meta', storeId: string | null, key: string) => {
        const current = this.#current;
        if (!current) throw isolateSafeError('KeyValueStore reads are only possible while the handler runs');
        try {
          return current.kvs(op, storeId, key);
        } catch (err) {
          throw isolateSafeError(err instanceof Error ? err.message : String(err));
        }
      });
      const digest = new ivm.Callback(hostDigest);
      // The host object is built inside the isolate so that only these three callbacks cross over.
      const dispatch = context.evalClosureSync(
        'return $0($1, { kvs: $2, digest: $3, maxLogBytes: $4 }, $5);',
        [bootstrap.derefInto(), prelude.derefInto(), kvs, digest, this.#limits.maxLogBytes, this.#runtime],
        { result: { reference: true }, timeout: 1000 },
      ) as ivm.Reference<(...args: unknown[]) => [string, string]>;
      this.#runUserScript(isolate, context);
      this.#live = { isolate, dispatch };
    } catch (err) {
      if (!isolate.isDisposed) isolate.dispose();
      throw err;
    }
  }

  #runUserScript(isolate: ivm.Isolate, context: ivm.Context): void {
    let script: ivm.Script;
    try {
      // CloudFront Functions always run in strict mode; the directive shares line 1 so line numbers stay exact.
      script = isolate.compileScriptSync(`'use strict';${this.#script}`, { filename: USER_SCRIPT_FILENAME });
    } catch (err) {
      throw new OpenFrontError('FUNCTION_COMPILE_ERROR', `The function code does not compile: ${errorText(err)}`);
    }
    try {
      script.runSync(context, { timeout: timeoutMs(this.#limits) });
    } catch (err) {
      const reason = killReason(err, isolate);
      if (reason === 'cpu') throw new OpenFrontError('FUNCTION_CPU_LIMIT_EXCEEDED', 'The function top-level code exceeded its CPU time budget');
      if (reason === 'memory') throw new OpenFrontError('FUNCTION_MEMORY_LIMIT_EXCEEDED', 'The function top-level code exceeded its memory limit');
      throw new OpenFrontError('FUNCTION_EXECUTION_ERROR', `The function top-level code threw: ${errorText(err)}`);
    }
  }

  /** Runs the handler once. Never throws for the function's own failures. */
  invoke(input: DispatchInput): RawOutcome {
    this.load();
    const live = this.#live as LiveIsolate;
    this.#current = input;
    let returned: [string, string];
    try {
      returned = live.dispatch.applySync(
        undefined,
        [packDispatch(input)],
        this.#dispatchOptions,
      );
    } catch (err) {
      const reason = killReason(err, live.isolate);
      this.dispose();
      if (reason) return { kind: 'killed', reason, logs: [] };
      return { kind: 'error', message: errorText(err), logs: [] };
    } finally {
      this.#current = undefined;
    }
    const [json, wire] = returned;
    if (json === '') return { kind: 'error', message: 'The handler returned a Promise that never settled', logs: [] };
    const outcome = JSON.parse(json) as RawOutcome;
    // An invocation that logged nothing leaves `logs` out of the envelope.
    outcome.logs ??= [];
    if (wire !== '' && outcome.kind === 'result') outcome.value = decodeResult(wire);
    return outcome;
  }

  dispose(): void {
    const live = this.#live;
    this.#live = undefined;
    if (live && !live.isolate.isDisposed) live.isolate.dispose();
  }
}

const PACK = '\u0004';

/** The one string `dispatch` takes (the bootstrap's `dispatch` comment describes the layout). */
function packDispatch(input: DispatchInput): string {
  const raw = input.rawQueryString;
  const rawField = raw === null ? '\u0003' : raw.includes(PACK) ? `j${JSON.stringify(raw)}` : `q${raw}`;
  const edgeField = input.edgeLocationJson ?? '\u0003';
  return `${input.now}${PACK}${input.seed}${PACK}${input.kvsToken}${PACK}${rawField}${PACK}${edgeField}${PACK}${input.eventWire}`;
}

function killReason(err: unknown, isolate: ivm.Isolate): 'cpu' | 'memory' | undefined {
  const message = err instanceof Error ? err.message : String(err);
  if (isolate.isDisposed || /memory limit/i.test(message)) return 'memory';
  if (/timed out/i.test(message)) return 'cpu';
  return undefined;
}

/** An Error whose stack holds only its message: host file paths and frames must not be visible to the function. */
function isolateSafeError(message: string): Error {
  const err = new Error(message);
  err.stack = `Error: ${message}`;
  return err;
}

function errorText(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
