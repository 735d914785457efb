/**
 * The composition root: one OpenFront node on the embedded store — the SQLite database, in-process replicas, the
 * function registry with its LIVE functions, the control-plane API and the edge, wired together. This folder is the
 * only one that imports both control/ and edge/ (see docs/architecture.md). `openfront start` and `openfront dev` are thin
 * shells over this; tests start it on port 0.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { EdgeConfig } from '../config/types.js';
import { startApiServer, type ApiServer } from '../control/api-server.js';
import { FunctionRegistry, functionRouteGroup, type RunLimits } from '../control/functions/index.js';
import type { Probes } from '../control/http/probes.js';
import { invalidationRouteGroup } from '../control/invalidation-api.js';
import { reloadRouteGroup, type ReloadOutcome } from '../control/reload-api.js';
import { openFrontError } from '../errors.js';
import type { EdgeReconfigureResult } from '../edge/edge-server.js';
import { startEdge, type EdgeServer, type ThrottleLimits } from '../edge/index.js';
import { startEdgeWorkers } from './cluster/edge-workers.js';
import { DEFAULT_KVS_LIMITS, UNLIMITED_KVS_LIMITS } from '../kvs/limits.js';
import { ReplicaSet } from '../kvs/replica.js';
import type { KvsLimits } from '../kvs/types.js';
import { openSqliteParts, sqliteState, type SqliteState } from '../state/sqlite/index.js';
import type { RuntimeLimits } from '../runtime/types.js';
import { LiveFunctions } from './live-functions.js';
import { startLocalPropagation } from './local-propagation.js';
import { startNodeObservability, type NodeObservability, type WorkerMetrics } from './observability.js';
import { RecordingSet } from '../observe/recording.js';
import { dryRunRouteGroup } from '../control/dry-run-api.js';
import { dryRunService, restoreRecordings, saveRecordings } from './dry-run-service.js';
import { nodeSettingsChanged, readinessChecks } from './operations.js';
import { checkConfigFunctions, functionsUsedByConfig, syncConfigFunctions, type ConfigFunctionChange } from './seed-functions.js';
import type { HistoryRetention } from '../kvs/history.js';
import { ensureConfigStores } from './seed-stores.js';
import { ensureSelfSignedCertificate } from './self-signed.js';

export interface OpenFrontNodeOptions {
  /** Holds openfront.db (created 0600). */
  dataDir: string;
  config: EdgeConfig;
  /** `importDir` overrides the config's `kvs.importDir`. */
  api?: { host?: string; port?: number; insecureNoAuth?: boolean; importDir?: string };
  /** Defaults come from the config's `server` section; `throttle`: the per-path function throttle (docs/security.md). */
  edge?: { host?: string; port?: number; httpsPort?: number; cacheBytes?: number; throttle?: Partial<ThrottleLimits> };
  /** Overrides the config's `kvs.limits` switch. */
  kvsLimits?: KvsLimits;
  /** Store history retention; overrides the config's `kvs.history` (docs/kvs-storage.md). */
  historyRetention?: HistoryRetention;
  runtimeLimits?: Partial<RuntimeLimits>;
  /** TestFunction runs at once / waiting (default 1 / 8; docs/security.md). */
  testRuns?: Partial<RunLimits>;
  /**
   * Serve the edge from `count` worker processes on one port (node:cluster; docs/deploy.md) instead of in this
   * process. `workerHeader` adds `x-openfront-worker: <pid>` to every edge response.
   */
  workers?: { count: number; workerHeader?: boolean };
  /** Override the config's `observability` switches: access log destination ("-" stdout), metrics listener port. */
  observability?: { accessLog?: string; metricsPort?: number };
  /**
   * true for a local tool (`openfront dev`): a config store without `awsId` answers `cf.kvs(id)` for any id, since
   * its data comes from a seed file and has no id of its own. Default false: ids must match, as on CloudFront.
   */
  localStoreIds?: boolean;
  /**
   * Re-reads the config for `reload()` (SIGHUP, `POST /openfront/v1/reload`); `openfront start` passes a loader of its
   * config file. Without it `reload()` is refused with RELOAD_UNAVAILABLE.
   */
  configSource?: () => Promise<EdgeConfig>;
  /** This node's edge name in propagation answers (docs/fleet.md); default: the host name. */
  edgeName?: string;
}

/** The edge as the node drives it: one in-process edge, or edge workers behind one port. */
export type NodeEdge = Pick<
  EdgeServer,
  'url' | 'port' | 'httpsUrl' | 'httpsPort' | 'draining' | 'inFlight' | 'functionStats' | 'cacheStats' | 'drain' | 'close'
> & {
  reconfigure(config: EdgeConfig): EdgeReconfigureResult | Promise<EdgeReconfigureResult>;
  invalidate(distributionId: string, paths: string[]): number | Promise<number>;
  /** "ok", or what is not ready yet (workers still starting). */
  readiness?(): string;
  /** Pids of the edge worker processes (worker mode only). */
  pids?(): number[];
  /** The edge workers' metrics, summed into every scrape (worker mode only). */
  metrics?(): Promise<WorkerMetrics>;
};

export interface OpenFrontNode {
  api: ApiServer;
  edge: NodeEdge;
  /** The state behind the API (the SQLite backend for this all-in-one node). */
  state: SqliteState;
  /** The registry, synchronously: what this node's edge follows in-process (also `state.registry`). */
  registry: FunctionRegistry;
  live: LiveFunctions;
  /** Decisions, live streams, metrics and access logs of this node (docs/observability.md). */
  observability: NodeObservability;
  /** The self-signed certificate HTTPS is served with when the config names none (made in the data directory). */
  selfSignedCertificate?: { certificatePath: string; created: boolean };
  /** Stores created and functions created/updated from the config at start. */
  seeded: { stores: string[]; functions: ConfigFunctionChange[] };
  /**
   * Replaces the edge with one serving `config` on the same host and port (an edge's config is fixed for its
   * life). Closing the old edge cuts its open connections; `node.edge` is the new one afterwards. The caller makes
   * the config's stores and functions exist first. If the new edge cannot start, the old config is served again.
   */
  restartEdge(config: EdgeConfig): Promise<EdgeServer>;
  /**
   * Serves `config` without a restart: its stores and functions are made to exist (after a dry run that changes
   * nothing when any function code is bad), then the edge swaps to it in place — requests in flight finish on the
   * old config. Settings bound to sockets are reported in `restartNeeded` and keep their old value.
   */
  reconfigure(config: EdgeConfig): Promise<ReloadOutcome>;
  /** Re-reads the config from `configSource` and `reconfigure`s; one at a time (RELOAD_IN_PROGRESS otherwise). */
  reload(): Promise<ReloadOutcome>;
  /** Liveness and readiness, as `/healthz` and `/readyz` answer them. */
  probes: Probes;
  /** Graceful stop: not ready at once, the edge drains for up to `graceMs` (see EdgeServer.drain), then `close()`. */
  drain(graceMs: number): Promise<{ cut: number }>;
  close(): Promise<void>;
}

export async function startOpenFrontNode(options: OpenFrontNodeOptions): Promise<OpenFrontNode> {
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const limits = options.kvsLimits ?? (options.config.kvsLimits === 'unlimited' ? UNLIMITED_KVS_LIMITS : DEFAULT_KVS_LIMITS);
  const history = options.historyRetention ?? options.config.kvsHistory;
  const parts = openSqliteParts(join(options.dataDir, 'openfront.db'), { limits, ...(history === undefined ? {} : { history }) });
  const kvs = parts.stores;
  const cleanup: Array<() => unknown> = [
    () => {
      parts.stores.close();
      parts.database.close();
    },
  ];
  const closeAll = async () => {
    for (const step of cleanup.reverse()) await step();
  };
  try {
    const replicas = new ReplicaSet(kvs);
    cleanup.push(() => replicas.close());
    let inUse = functionsUsedByConfig(options.config);
    const registry = new FunctionRegistry(parts, { isFunctionInUse: (name) => inUse.has(name) });
    const state = sqliteState(parts, registry);
    const stores = await ensureConfigStores(options.config, state.stores);
    const functions = await syncConfigFunctions(options.config, state.functions, state.stores);
    let edgeConfig = options.config;
    const storeAnswersAnyId =
      options.localStoreIds === true ? (storeId: string) => !edgeConfig.stores.some((s) => s.awsId === storeId.toLowerCase()) : undefined;
    const live = new LiveFunctions(registry, replicas, { limits: options.runtimeLimits, storeAnswersAnyId });
    cleanup.push(() => live.close());
    let edge: NodeEdge | undefined;
    // Requests recorded for `openfront dry-run`, per distribution that asks for it (docs/safe-changes.md).
    const recordings = new RecordingSet();
    recordings.configure(options.config.distributions);
    restoreRecordings(recordings, options.dataDir);
    cleanup.push(() => saveRecordings(recordings, options.dataDir));
    const observability = await startNodeObservability({
      recordings,
      config: options.config.observability,
      stores: kvs,
      lookupSecret: (id) => parts.keys.getAccessKeySecret(id),
      nodeId: options.config.server.nodeId,
      cacheStats: () => edge?.cacheStats() ?? { bytes: 0, entries: 0, evictions: 0 },
      isolateHeap: () => live.heapUsage(),
      accessLog: options.observability?.accessLog,
      metricsPort: options.observability?.metricsPort,
      insecureNoAuth: options.api?.insecureNoAuth,
    });
    cleanup.push(() => observability.close());
    const { debug, observer } = observability;
    const wantsHttps = (options.edge?.httpsPort ?? options.config.server.httpsPort) !== undefined;
    const selfSigned =
      wantsHttps && options.config.server.tls?.defaultCertificate === undefined ? await ensureSelfSignedCertificate(options.dataDir) : undefined;
    const defaultCertificate =
      selfSigned === undefined ? undefined : { certificatePath: selfSigned.certificatePath, privateKeyPath: selfSigned.privateKeyPath };
    const workers = options.workers;
    edge =
      workers === undefined
        ? await startEdge({
            config: options.config,
            functions: live,
            debug,
            observer,
            defaultCertificate,
            cacheDir: join(options.dataDir, 'cache'),
            ...options.edge,
          })
        : await startEdgeWorkers({
            count: workers.count,
            config: options.config,
            observe: {
              settings: {
                traceAll: observability.workers.traceAll,
                perSecond: observability.workers.perSecondShare(workers.count),
                insecureNoAuth: options.api?.insecureNoAuth ?? false,
              },
              offer: (trace) => observability.workers.offer(trace),
              watchTailing: (listener) => observability.workers.watchTailing(listener),
            },
            start: {
              cacheDir: join(options.dataDir, 'cache'),
              dbFile: join(options.dataDir, 'openfront.db'),
              kvsLimits: limits,
              host: options.edge?.host,
              port: options.edge?.port,
              httpsPort: options.edge?.httpsPort,
              defaultCertificate,
              cacheBytes: options.edge?.cacheBytes,
              throttle: options.edge?.throttle,
              runtimeLimits: options.runtimeLimits,
              workerHeader: workers.workerHeader === true,
            },
            follow: {
              kvs: (listener) => {
                const a = kvs.onChange((change) => listener(change.storeId));
                const b = kvs.onStoreDeleted(listener);
                return () => {
                  a();
                  b();
                };
              },
              live: (listener) => registry.onLiveChange((name) => listener(name)),
            },
          });
    cleanup.push(() => edge!.close());
    const workerEdge = edge;
    if (workerEdge.metrics !== undefined) observability.workers.scrapeAlso(() => workerEdge.metrics!());
    state.releases.setEdgeHooks(
      workers === undefined
        ? { preload: (name, code, runtime) => live.preload(name, code, runtime), discardPreloaded: (name) => live.discardPreloaded(name) }
        : {
            unavailable:
              'Releases are not available with edge workers (--workers): each worker follows store data and LIVE functions on its own, so a release could not go live there as one. Run without --workers to use releases',
          },
    );
    // The API outlives edge restarts, so it reaches the edge through this indirection.
    const currentEdge = { invalidate: (distributionId: string, paths: string[]) => edge!.invalidate(distributionId, paths) };
    let draining = false;
    let reloading = false;
    const reconfigure = async (config: EdgeConfig): Promise<ReloadOutcome> => {
      await checkConfigFunctions(config, state.functions, state.stores);
      const createdStores = await ensureConfigStores(config, state.stores);
      const synced = await syncConfigFunctions(config, state.functions, state.stores);
      const { restartNeeded } = await edge!.reconfigure(config);
      restartNeeded.push(...nodeSettingsChanged(edgeConfig, config));
      edgeConfig = config;
      inUse = functionsUsedByConfig(config);
      recordings.configure(config.distributions);
      const changes = [
        ...createdStores.map((name) => `created store ${name}`),
        ...synced.map((fn) => `${fn.action} function ${fn.name}, LIVE version ${fn.version}`),
        `serving ${config.distributions.length} distribution${config.distributions.length === 1 ? '' : 's'}`,
      ];
      return { changes, restartNeeded };
    };
    const reload = async (): Promise<ReloadOutcome> => {
      if (options.configSource === undefined)
        throw openFrontError('RELOAD_UNAVAILABLE', 'This node was started from a config object, not a file: there is nothing to re-read');
      if (reloading) throw openFrontError('RELOAD_IN_PROGRESS', 'A config reload is already running; retry when it has finished');
      reloading = true;
      try {
        return await reconfigure(await options.configSource());
      } finally {
        reloading = false;
      }
    };
    const probes: Probes = {
      healthz: () => ({ ok: true, checks: { process: 'up' } }),
      readyz: () => {
        const checks = readinessChecks(edgeConfig, kvs, live, { draining: draining || edge!.draining });
        if (edge!.readiness !== undefined && checks.edge === 'ok') checks.edge = edge!.readiness();
        return { ok: Object.values(checks).every((v) => v === 'ok'), checks };
      },
    };
    const propagation = startLocalPropagation(kvs, registry, live, { name: options.edgeName });
    cleanup.push(() => propagation.close());
    const api = await startApiServer({
      state,
      propagation: propagation.view,
      host: options.api?.host,
      port: options.api?.port,
      auth: { insecureNoAuth: options.api?.insecureNoAuth ?? false },
      importDir: options.api?.importDir ?? options.config.kvsImportDir,
      limits: options.config.apiLimits,
      routes: [
        functionRouteGroup(state.functions, replicas, { limits: options.runtimeLimits, testRuns: options.testRuns }),
        invalidationRouteGroup(currentEdge),
        reloadRouteGroup({ reload }),
        observability.routes,
        dryRunRouteGroup(
          dryRunService({
            recordings,
            distributions: () => edgeConfig.distributions,
            state,
            storeSource: (id) => replicas.get(id),
            limits: options.runtimeLimits,
          }),
        ),
      ],
      probes,
    });
    cleanup.push(() => api.close());
    const restartEdge = async (config: EdgeConfig): Promise<EdgeServer> => {
      if (workers !== undefined) throw openFrontError('INTERNAL', 'restartEdge is for a node whose edge runs in its own process (no workers)');
      const place = { host: options.edge?.host ?? edgeConfig.server.host, port: edge!.port, httpsPort: edge!.httpsPort, defaultCertificate };
      await edge!.close();
      let started: EdgeServer;
      try {
        started = await startEdge({ cacheDir: join(options.dataDir, 'cache'), ...options.edge, ...place, config, functions: live, debug, observer });
      } catch (err) {
        edge = await startEdge({ cacheDir: join(options.dataDir, 'cache'), ...options.edge, ...place, config: edgeConfig, functions: live, debug, observer });
        throw err;
      }
      edge = started;
      edgeConfig = config;
      inUse = functionsUsedByConfig(config);
      recordings.configure(config.distributions);
      return started;
    };
    return {
      api,
      get edge() {
        return edge!;
      },
      observability,
      state,
      registry,
      live,
      seeded: { stores, functions },
      ...(selfSigned === undefined ? {} : { selfSignedCertificate: { certificatePath: selfSigned.certificatePath, created: selfSigned.created } }),
      restartEdge,
      reconfigure,
      reload,
      probes,
      async drain(graceMs) {
        draining = true;
        const drained = await edge!.drain(graceMs);
        await closeAll();
        return drained;
      },
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
