/**
 * `openfront dev`: one node on loopback whose config, function code and store seed files are watched and reloaded
 * on every save.
 *
 * Every reload is all-or-nothing for what it touches, so the edge always serves the last good state:
 *   - a function code file → a new version of that function, published (the checker refuses bad code before any
 *     version exists, so LIVE stays where it was);
 *   - a store seed file → the store's data replaced by the file (a bad file is refused whole, the data stays);
 *   - the config file → loaded and validated, its new stores created, every function synced, then the edge
 *     restarted with it on the same port after in-flight requests finished. Any problem and the old edge keeps
 *     running; the new config is retried on the next save of any watched file.
 * Reloads run one at a time in the order saves arrive.
 */
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../config/index.js';
import type { EdgeConfig, FunctionConfig, StoreConfig } from '../config/types.js';
import { readImportFile } from '../kvs/import-export.js';
import { startOpenFrontNode, type OpenFrontNode } from '../node/index.js';
import { syncConfigFunctions, type ConfigFunctionChange } from '../node/seed-functions.js';
import { ensureConfigStores } from '../node/seed-stores.js';
import { InFlightRequests } from './dev/in-flight.js';
import { formatProblem, problemsFromError, type DevProblem } from './dev/problems.js';
import { FileWatcher } from './dev/watch.js';
import { openFrontError } from '../errors.js';

export type { DevProblem } from './dev/problems.js';

/** How `startDevServer` runs. */
export interface DevServerOptions {
  /** The config file (a file, not a folder: the CLI resolves folders). */
  configPath: string;
  /** Data directory; default: a fresh temporary one, removed on close, so stores start from their seed files. */
  dataDir?: string;
  /** Edge port on 127.0.0.1; default the config's `server.port`; 0 picks a free one (kept across restarts). */
  edgePort?: number;
  /** API port on 127.0.0.1; default 8787; 0 picks a free one. */
  apiPort?: number;
  /** Quiet time after a file event before reloading. Default 50 ms. */
  debounceMs?: number;
  /** Longest wait for in-flight edge requests before a config restart closes the old edge. Default 500 ms. */
  drainMs?: number;
  /** Receives one line per reload (and per problem, at level "error"). Default: silent. */
  log?: (line: string, level: 'info' | 'error') => void;
  /** Paths in log lines are relative to this. Default: the working directory. */
  cwd?: string;
}

/** What a watched file is to the project. */
export type DevFileRole = { kind: 'config' } | { kind: 'function'; name: string } | { kind: 'store'; name: string };

/** The outcome of one reload: `reloads` emits it as a `reload` event. */
export interface DevReload {
  kind: 'function' | 'store' | 'config';
  /** Absolute path of the saved file (the config file for a config reload). */
  file: string;
  ok: boolean;
  /** What changed, one short phrase each ("router LIVE v3", "greetings: 4 keys"); empty when nothing did. */
  changes: string[];
  /** Why the reload was refused; the edge keeps serving what it served. */
  problems?: DevProblem[];
  /** Time the reload took, from reading the file to the edge serving the result. */
  ms: number;
}

export interface DevServer {
  /** `http://127.0.0.1:port`; the same across config restarts. */
  edgeUrl: string;
  apiUrl: string;
  dataDir: string;
  /** True when `dataDir` is a temporary folder removed on close. */
  temporaryData: boolean;
  node: OpenFrontNode;
  /** The files watched now, with what each one is. */
  watched(): Array<{ file: string; role: DevFileRole }>;
  /** Emits `reload` with a {@link DevReload} after every reload, successful or not. */
  reloads: EventEmitter<{ reload: [DevReload] }>;
  close(): Promise<void>;
}

const DEV_ACTOR = { accessKeyId: 'dev' };
const DEFAULT_API_PORT = 8787;
const LOOPBACK = '127.0.0.1';

export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const configPath = resolve(options.configPath);
  const config = await loadConfig(configPath);
  const temporaryData = options.dataDir === undefined;
  const dataDir = options.dataDir === undefined ? mkdtempSync(join(tmpdir(), 'openfront-dev-')) : resolve(options.dataDir);
  let node: OpenFrontNode;
  try {
    node = await startOpenFrontNode({
      dataDir,
      config,
      api: { host: LOOPBACK, port: options.apiPort ?? DEFAULT_API_PORT, insecureNoAuth: true },
      edge: { host: LOOPBACK, port: options.edgePort ?? config.server.port },
      localStoreIds: true,
    });
  } catch (err) {
    if (temporaryData) rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  return new DevSession(node, config, configPath, dataDir, temporaryData, options);
}

/** Every file of `config` worth watching, with its role. */
function projectFiles(config: EdgeConfig, configPath: string): Map<string, DevFileRole[]> {
  const files = new Map<string, DevFileRole[]>();
  const add = (file: string, role: DevFileRole) => files.set(file, [...(files.get(file) ?? []), role]);
  add(configPath, { kind: 'config' });
  for (const fn of config.functions) add(fn.codePath, { kind: 'function', name: fn.name });
  for (const store of config.stores) if (store.seedPath !== undefined) add(store.seedPath, { kind: 'store', name: store.name });
  return files;
}

function describeFunctionChange(change: ConfigFunctionChange): string {
  return `${change.action === 'created' ? 'created ' : ''}${change.name} LIVE v${change.version}`;
}

class DevSession implements DevServer {
  readonly edgeUrl: string;
  readonly apiUrl: string;
  readonly dataDir: string;
  readonly temporaryData: boolean;
  readonly node: OpenFrontNode;
  readonly reloads = new EventEmitter<{ reload: [DevReload] }>();
  readonly #configPath: string;
  readonly #options: DevServerOptions;
  readonly #cwd: string;
  readonly #watcher: FileWatcher;
  readonly #inFlight: InFlightRequests;
  #config: EdgeConfig;
  /** A valid new config waiting for its function files to be fixed; any save retries it. */
  #pendingConfig: EdgeConfig | undefined;
  #queue: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(node: OpenFrontNode, config: EdgeConfig, configPath: string, dataDir: string, temporaryData: boolean, options: DevServerOptions) {
    this.node = node;
    this.#config = config;
    this.#configPath = configPath;
    this.dataDir = dataDir;
    this.temporaryData = temporaryData;
    this.#options = options;
    this.#cwd = options.cwd ?? process.cwd();
    this.edgeUrl = node.edge.url;
    this.apiUrl = node.api.url;
    this.#inFlight = new InFlightRequests(() => node.edge.port);
    this.#watcher = new FileWatcher({
      debounceMs: options.debounceMs ?? 50,
      onChange: (files) => {
        this.#queue = this.#queue
          .then(() => this.#apply(files))
          .catch((err: unknown) => this.#log(`reload failed: ${err instanceof Error ? err.message : String(err)}`, 'error'));
      },
      onError: (dir, err) => this.#log(`cannot watch ${this.#rel(dir)}: ${err.message}`, 'error'),
    });
    this.#watcher.set(this.#projectFiles().keys());
  }

  watched(): Array<{ file: string; role: DevFileRole }> {
    return [...this.#projectFiles()].flatMap(([file, roles]) => roles.map((role) => ({ file, role })));
  }

  /** The files of the running config and of a pending one (its files are watched so that fixing them retries it). */
  #projectFiles(): Map<string, DevFileRole[]> {
    const files = projectFiles(this.#config, this.#configPath);
    if (this.#pendingConfig === undefined) return files;
    for (const [file, roles] of projectFiles(this.#pendingConfig, this.#configPath)) if (!files.has(file)) files.set(file, roles);
    return files;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#watcher.close();
    await this.#queue;
    this.#inFlight.close();
    await this.node.close();
    if (this.temporaryData) rmSync(this.dataDir, { recursive: true, force: true });
  }

  async #apply(files: Set<string>): Promise<void> {
    if (this.#closed) return;
    if (files.has(this.#configPath) || this.#pendingConfig !== undefined) {
      const handledAll = await this.#run('config', this.#configPath, () => this.#reloadConfig(files));
      if (handledAll) return;
    }
    for (const file of files) {
      const functions = this.#config.functions.filter((fn) => fn.codePath === file);
      const stores = this.#config.stores.filter((store) => store.seedPath === file);
      if (functions.length > 0) await this.#run('function', file, () => this.#syncFunctions(this.#config, functions));
      if (stores.length > 0) await this.#run('store', file, () => this.#reloadStores(stores));
    }
  }

  /**
   * Times one reload, reports it, and turns any throw into problems. `work` returns what changed and the problems
   * it collected; for a config reload also whether it accounted for every file of the batch.
   */
  async #run(
    kind: DevReload['kind'],
    file: string,
    work: () => Promise<{ changes: string[]; problems: DevProblem[]; handledAll?: boolean }>,
  ): Promise<boolean> {
    const started = performance.now();
    let outcome: { changes: string[]; problems: DevProblem[]; handledAll?: boolean };
    try {
      outcome = await work();
    } catch (err) {
      outcome = { changes: [], problems: problemsFromError(err, file) };
    }
    const ms = Math.round((performance.now() - started) * 10) / 10;
    const ok = outcome.problems.length === 0;
    const reload: DevReload = { kind, file, ok, changes: outcome.changes, ms, ...(ok ? {} : { problems: outcome.problems }) };
    this.#report(reload);
    this.reloads.emit('reload', reload);
    return outcome.handledAll ?? false;
  }

  /** Syncs each function on its own, so one broken file does not hide the problems (or changes) of the others. */
  async #syncFunctions(config: EdgeConfig, functions: FunctionConfig[]): Promise<{ changes: string[]; problems: DevProblem[] }> {
    const changes: string[] = [];
    const problems: DevProblem[] = [];
    for (const fn of functions) {
      try {
        const synced = await syncConfigFunctions({ ...config, functions: [fn] }, this.node.state.functions, this.node.state.stores);
        changes.push(...synced.map(describeFunctionChange));
      } catch (err) {
        problems.push(...problemsFromError(err, fn.codePath));
      }
    }
    return { changes, problems };
  }

  async #reloadStores(stores: StoreConfig[]): Promise<{ changes: string[]; problems: DevProblem[] }> {
    const changes: string[] = [];
    const problems: DevProblem[] = [];
    for (const store of stores) {
      if (store.seedPath === undefined) continue;
      try {
        changes.push(await this.#reseed(store.name, store.seedPath));
      } catch (err) {
        problems.push(...problemsFromError(err, store.seedPath));
      }
    }
    return { changes, problems };
  }

  /** Replaces the data of store `name` with the seed file; the whole file is validated before anything changes. */
  async #reseed(name: string, seedPath: string): Promise<string> {
    const stores = this.node.state.stores;
    const items = await readImportFile(seedPath, { limits: stores.limits });
    const record = await stores.getStore({ name });
    if (record === undefined) throw openFrontError('KVS_NOT_FOUND', `store ${name} does not exist`);
    const result = await stores.importData(record.id, items, { mode: 'replace' }, DEV_ACTOR);
    return `${name}: ${result.itemCount} key${result.itemCount === 1 ? '' : 's'} (version ${result.version})`;
  }

  async #reloadConfig(files: Set<string>): Promise<{ changes: string[]; problems: DevProblem[]; handledAll: boolean }> {
    let next: EdgeConfig;
    try {
      next = await loadConfig(this.#configPath);
    } catch (err) {
      // The batch's other files still reload against the config that keeps running.
      return { changes: [], problems: problemsFromError(err, this.#configPath), handledAll: false };
    }
    const changes: string[] = [];
    const problems: DevProblem[] = [];
    let created: string[] = [];
    try {
      created = await ensureConfigStores(next, this.node.state.stores);
      changes.push(...created.map((name) => `created store ${name}`));
    } catch (err) {
      problems.push(...problemsFromError(err, this.#configPath));
    }
    const previousSeeds = new Map(this.#config.stores.map((s) => [s.name, s.seedPath]));
    for (const store of next.stores) {
      if (store.seedPath === undefined || created.includes(store.name)) continue;
      const seedMoved = !previousSeeds.has(store.name) || previousSeeds.get(store.name) !== store.seedPath;
      if (!seedMoved && !files.has(store.seedPath)) continue;
      try {
        changes.push(await this.#reseed(store.name, store.seedPath));
      } catch (err) {
        problems.push(...problemsFromError(err, store.seedPath));
      }
    }
    const synced = await this.#syncFunctions(next, next.functions);
    changes.push(...synced.changes);
    problems.push(...synced.problems);
    if (problems.length > 0) {
      this.#pendingConfig = next;
      this.#watcher.set(this.#projectFiles().keys());
      return { changes, problems, handledAll: true };
    }
    await this.#inFlight.drained(this.#options.drainMs ?? 500);
    await this.node.restartEdge(next);
    this.#config = next;
    this.#pendingConfig = undefined;
    this.#watcher.set(this.#projectFiles().keys());
    const behaviors = next.distributions.reduce((n, d) => n + d.behaviors.length + 1, 0);
    changes.push(`edge restarted with ${next.distributions.length} distribution${next.distributions.length === 1 ? '' : 's'}, ${behaviors} behaviors`);
    return { changes, problems, handledAll: true };
  }

  #report(reload: DevReload): void {
    const what = `${reload.kind} ${this.#rel(reload.file)}`;
    if (reload.ok) {
      this.#log(`reloaded ${what}: ${reload.changes.length > 0 ? reload.changes.join(', ') : 'no change'} (${reload.ms} ms)`, 'info');
      return;
    }
    const problems = reload.problems ?? [];
    const kept =
      reload.kind === 'config'
        ? 'the edge keeps the previous config'
        : reload.kind === 'store'
          ? 'the store keeps its data'
          : `the edge keeps serving ${this.#liveVersions(reload.file)}`;
    this.#log(`reload of ${what} FAILED (${problems.length} problem${problems.length === 1 ? '' : 's'}; ${kept}) (${reload.ms} ms)`, 'error');
    for (const problem of problems) this.#log(formatProblem(problem, this.#cwd), 'error');
  }

  /** "router LIVE v3" for each function whose code is `file`. */
  #liveVersions(file: string): string {
    const names = this.#config.functions.filter((fn) => fn.codePath === file).map((fn) => fn.name);
    const served = names.map((name) => {
      const entry = this.node.live.get(name);
      return entry === undefined ? `${name} (not LIVE yet)` : `${name} LIVE v${entry.version}`;
    });
    return served.join(', ') || 'what it served';
  }

  #rel(file: string): string {
    return relative(this.#cwd, file) || file;
  }

  #log(line: string, level: 'info' | 'error'): void {
    this.#options.log?.(line, level);
  }
}
