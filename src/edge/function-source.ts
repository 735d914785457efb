/**
 * How the edge finds the code to run for a function association. The edge asks for the live version on every
 * request and keeps the object it got for the rest of that request, so publishing a new version swaps atomically:
 * new requests see the new code, in-flight ones finish on the old.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { openFrontError } from '../errors.js';
import type { EdgeConfig, FunctionConfig } from '../config/types.js';
import type { KvsSnapshotSource } from '../kvs/snapshot.js';
import { loadFunction } from '../runtime/index.js';
import type { CloudFrontFunction, KvsBinding, RuntimeLimits } from '../runtime/types.js';
import { RetiredFunctions } from '../runtime/retired-functions.js';

/** The version of a function the edge runs now, with the stores it may read. */
export interface LiveFunction {
  readonly fn: CloudFrontFunction;
  /** Shown in traces: a published version number, or a code-hash prefix for file-based functions. */
  readonly version: string;
  readonly kvs: KvsBinding;
}

export interface FunctionSource {
  /** The LIVE version of `name`, or undefined when there is none (the edge answers 503). */
  live(name: string): LiveFunction | undefined;
}

/**
 * Maps a store name from the config to the store id and the replica the function reads; `anyId` when the store
 * answers `cf.kvs(id)` for any id (data without an id of its own, see {@link KvsBinding.anyId}).
 */
export type StoreResolver = (storeName: string) => { id: string; source: KvsSnapshotSource; anyId?: boolean } | undefined;

export interface ConfigFunctionSourceOptions {
  stores?: StoreResolver;
  limits?: Partial<RuntimeLimits>;
  /**
   * How long a replaced function's isolate is kept before it is freed, so requests that started on it can finish.
   * Must exceed the kill-after limit of an invocation.
   */
  retireAfterMs?: number;
}

/** Functions loaded from the code files named in the config; `reload()` re-reads them. */
export class ConfigFunctionSource implements FunctionSource {
  #config: EdgeConfig;
  readonly #options: ConfigFunctionSourceOptions;
  #live = new Map<string, LiveFunction>();
  readonly #retired: RetiredFunctions;
  #closed = false;

  private constructor(config: EdgeConfig, options: ConfigFunctionSourceOptions) {
    this.#config = config;
    this.#options = options;
    this.#retired = new RetiredFunctions(options.retireAfterMs);
  }

  /** Loads every function of the config; rejects (loading nothing) when one does not compile or its store is missing. */
  static async create(config: EdgeConfig, options: ConfigFunctionSourceOptions = {}): Promise<ConfigFunctionSource> {
    const source = new ConfigFunctionSource(config, options);
    await source.reload();
    return source;
  }

  live(name: string): LiveFunction | undefined {
    return this.#live.get(name);
  }

  /**
   * Re-reads the code files (of `config` when given, which then replaces the current one) and swaps the whole set
   * at once. Unchanged code keeps its loaded isolate. On any failure the previous set stays live and the error is
   * thrown. Returns the names whose code changed.
   */
  async reload(config: EdgeConfig = this.#config): Promise<string[]> {
    if (this.#closed) throw openFrontError('INTERNAL', 'ConfigFunctionSource is closed');
    const next = new Map<string, LiveFunction>();
    const changed: string[] = [];
    try {
      for (const fnConfig of config.functions) {
        const code = await readFile(fnConfig.codePath, 'utf8');
        const kvs = this.#binding(fnConfig);
        const current = this.#live.get(fnConfig.name);
        const fn = current !== undefined && current.fn.runtime === fnConfig.runtime && sameCode(current.fn, code) ? current.fn : undefined;
        if (fn !== undefined) {
          next.set(fnConfig.name, { fn, version: current!.version, kvs });
          continue;
        }
        const loaded = await loadFunction(code, { name: fnConfig.name, runtime: fnConfig.runtime, limits: this.#options.limits });
        next.set(fnConfig.name, { fn: loaded, version: loaded.codeHash.slice(0, 12), kvs });
        changed.push(fnConfig.name);
      }
    } catch (err) {
      for (const [name, entry] of next) if (this.#live.get(name)?.fn !== entry.fn) entry.fn.dispose();
      throw err;
    }
    const previous = this.#live;
    this.#live = next;
    this.#config = config;
    const kept = new Set([...next.values()].map((entry) => entry.fn));
    for (const entry of previous.values()) if (!kept.has(entry.fn)) this.#retired.add(entry.fn);
    return changed;
  }

  /** Frees every isolate now. */
  close(): void {
    this.#closed = true;
    for (const entry of this.#live.values()) entry.fn.dispose();
    this.#retired.disposeAll();
    this.#live.clear();
  }

  #binding(fnConfig: FunctionConfig): KvsBinding {
    if (fnConfig.store === undefined) return { stores: new Map() };
    const store = this.#options.stores?.(fnConfig.store);
    if (store === undefined) throw openFrontError('CONFIG_INVALID', `function "${fnConfig.name}": KeyValueStore "${fnConfig.store}" is not available`);
    return { defaultStoreId: store.id, stores: new Map([[store.id, store.source]]), ...(store.anyId === true ? { anyId: true } : {}) };
  }
}

function sameCode(fn: CloudFrontFunction, code: string): boolean {
  return createHash('sha256').update(code).digest('hex') === fn.codeHash;
}
