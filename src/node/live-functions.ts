/**
 * The registry → edge adapter: the loaded LIVE version of every published function, kept current from the registry
 * (control/) and served to the edge as its {@link FunctionSource}. It lives in the composition root because it is the
 * one place that knows both sides.
 *
 * On a LIVE move the new version is loaded first and only then swapped in with one Map write, so a request either
 * gets the old entry or the new one, never a half-loaded function. A request keeps the entry it got; a replaced
 * function's isolate is freed as soon as the invocations that started on it have finished (`retire()`), and the
 * function is disposed for good after a grace period.
 */
import type { FunctionRegistry } from '../control/functions/index.js';
import type { FunctionSource, LiveFunction } from '../edge/function-source.js';
import type { ReplicaSet } from '../kvs/replica.js';
import { loadFunctionSync } from '../runtime/function.js';
import type { RuntimeVersion } from '../runtime/event.js';
import type { CloudFrontFunction, KvsBinding, RuntimeLimits } from '../runtime/types.js';
import { RetiredFunctions } from '../runtime/retired-functions.js';

/** One LIVE function, ready to run. */
export interface LiveFunctionEntry {
  readonly fn: CloudFrontFunction;
  /** The registry version LIVE points at. */
  readonly version: number;
  /** The associated store (if any), read through its live replica. */
  readonly kvs: KvsBinding;
}

export interface LiveFunctionsOptions {
  limits?: Partial<RuntimeLimits>;
  /** How long a replaced isolate is kept before it is freed; must exceed an invocation's kill-after limit. */
  retireAfterMs?: number;
  /**
   * true for a store whose data has no id of its own (`openfront dev` seeding from a file): it then answers to any
   * id the code names in `cf.kvs(id)`. Default: no store does, as on CloudFront.
   */
  storeAnswersAnyId?: (storeId: string) => boolean;
  /** Told when a LIVE version cannot be loaded (the previous one keeps serving). Default: a process warning. */
  onLoadError?: (name: string, version: number, err: unknown) => void;
}

export class LiveFunctions implements FunctionSource {
  readonly #registry: FunctionRegistry;
  readonly #replicas: ReplicaSet;
  readonly #options: LiveFunctionsOptions;
  readonly #entries = new Map<string, LiveFunctionEntry>();
  /** Loaded ahead of a LIVE move (a release): the move then only swaps, it cannot fail to load. */
  readonly #preloaded = new Map<string, { code: string; runtime: string; fn: CloudFrontFunction }>();
  readonly #retired: RetiredFunctions;
  readonly #unsubscribe: () => void;

  /** Loads every LIVE function now and follows LIVE moves until `close()`. */
  constructor(registry: FunctionRegistry, replicas: ReplicaSet, options: LiveFunctionsOptions = {}) {
    this.#registry = registry;
    this.#replicas = replicas;
    this.#options = options;
    this.#retired = new RetiredFunctions(options.retireAfterMs);
    this.#unsubscribe = registry.onLiveChange((name) => this.#refresh(name));
    for (const name of registry.liveNames()) this.#refresh(name);
  }

  /** The LIVE function `name`, or undefined when it is not published (or its LIVE version failed to load). */
  get(name: string): LiveFunctionEntry | undefined {
    return this.#entries.get(name);
  }

  /** The edge's {@link FunctionSource} view: the version as text, for traces. */
  live(name: string): LiveFunction | undefined {
    const entry = this.#entries.get(name);
    return entry && { fn: entry.fn, version: String(entry.version), kvs: entry.kvs };
  }

  /** V8 heap in use by each LIVE function's isolates (replaced ones still retiring are not counted). */
  async heapUsage(): Promise<Array<{ function: string; version: string; bytes: number }>> {
    const entries = [...this.#entries];
    return Promise.all(
      entries.map(async ([name, entry]) => ({ function: name, version: String(entry.version), bytes: (await entry.fn.heapUsedBytes?.()) ?? 0 })),
    );
  }

  /** Names of the loaded functions. */
  names(): string[] {
    return [...this.#entries.keys()];
  }

  /** Stops following the registry and frees every isolate now. */
  close(): void {
    this.#unsubscribe();
    for (const name of [...this.#preloaded.keys()]) this.discardPreloaded(name);
    for (const entry of this.#entries.values()) entry.fn.dispose();
    this.#retired.disposeAll();
    this.#entries.clear();
  }

  /**
   * Loads `code` now (throwing what loading throws), to be used when LIVE of `name` next moves to exactly this code
   * and runtime. A release preloads its functions before it commits, so that the edge cannot end up serving the new
   * data with the old code because the new code failed to load (docs/safe-changes.md#releases).
   */
  preload(name: string, code: string, runtime: RuntimeVersion): void {
    const fn = loadFunctionSync(code, { name, runtime, limits: this.#options.limits });
    this.discardPreloaded(name);
    this.#preloaded.set(name, { code, runtime, fn });
  }

  /** Frees a preloaded function that was not used (the release was refused). */
  discardPreloaded(name: string): void {
    this.#preloaded.get(name)?.fn.dispose();
    this.#preloaded.delete(name);
  }

  /** Re-reads LIVE of `name` from the registry and swaps if it moved: for a process told of a publish over IPC. */
  refresh(name: string): void {
    this.#refresh(name);
  }

  /** Re-reads LIVE of `name` from the registry (the listener's payload may already be stale) and swaps. */
  #refresh(name: string): void {
    const live = this.#registry.live(name);
    const current = this.#entries.get(name);
    if (live === undefined) {
      if (current !== undefined) {
        this.#entries.delete(name);
        this.#retired.add(current.fn);
      }
      return;
    }
    if (current?.version === live.version) return;
    let fn: CloudFrontFunction;
    const preloaded = this.#preloaded.get(name);
    this.#preloaded.delete(name);
    try {
      if (preloaded !== undefined && preloaded.code === live.code && preloaded.runtime === live.runtime) fn = preloaded.fn;
      else {
        preloaded?.fn.dispose();
        fn = loadFunctionSync(live.code, { name, runtime: live.runtime, limits: this.#options.limits });
      }
    } catch (err) {
      const report =
        this.#options.onLoadError ??
        ((n, v, e) =>
          process.emitWarning(
            `LIVE version ${v} of function ${n} cannot be loaded: ${e instanceof Error ? e.message : String(e)}`,
            'OpenFrontLiveFunctionWarning',
          ));
      report(name, live.version, err);
      return;
    }
    const binding: KvsBinding =
      live.kvsStoreId === undefined
        ? { stores: new Map() }
        : {
            defaultStoreId: live.kvsStoreId,
            stores: new Map([[live.kvsStoreId, this.#replicas.get(live.kvsStoreId)]]),
            ...(this.#options.storeAnswersAnyId?.(live.kvsStoreId) === true ? { anyId: true } : {}),
          };
    this.#entries.set(name, { fn, version: live.version, kvs: binding });
    if (current !== undefined) this.#retired.add(current.fn);
  }
}
