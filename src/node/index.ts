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
import { invalidationRouteGroup } from '../control/invalidation-api.js';
import { startEdge, type EdgeServer, type ThrottleLimits } from '../edge/index.js';
import { KvsDatabase } from '../kvs/database.js';
import { DEFAULT_KVS_LIMITS, UNLIMITED_KVS_LIMITS } from '../kvs/limits.js';
import { ReplicaSet } from '../kvs/replica.js';
import type { KvsLimits } from '../kvs/types.js';
import type { RuntimeLimits } from '../runtime/types.js';
import { LiveFunctions } from './live-functions.js';
import { startNodeObservability, type NodeObservability } from './observability.js';
import { functionsUsedByConfig, syncConfigFunctions, type ConfigFunctionChange } from './seed-functions.js';
import { ensureConfigStores } from './seed-stores.js';

export interface OpenFrontNodeOptions {
  /** Holds openfront.db (created 0600). */
  dataDir: string;
  config: EdgeConfig;
  /** `importDir` overrides the config's `kvs.importDir`. */
  api?: { host?: string; port?: number; insecureNoAuth?: boolean; importDir?: string };
  /** Defaults come from the config's `server` section; `throttle`: the per-path function throttle (docs/security.md). */
  edge?: { host?: string; port?: number; cacheBytes?: number; throttle?: Partial<ThrottleLimits> };
  /** Overrides the config's `kvs.limits` switch. */
  kvsLimits?: KvsLimits;
  runtimeLimits?: Partial<RuntimeLimits>;
  /** TestFunction runs at once / waiting (default 1 / 8; docs/security.md). */
  testRuns?: Partial<RunLimits>;
  /** Override the config's `observability` switches: access log destination ("-" stdout), metrics listener port. */
  observability?: { accessLog?: string; metricsPort?: number };
  /**
   * true for a local tool (`openfront dev`): a config store without `awsId` answers `cf.kvs(id)` for any id, since
   * its data comes from a seed file and has no id of its own. Default false: ids must match, as on CloudFront.
   */
  localStoreIds?: boolean;
}

export interface OpenFrontNode {
  api: ApiServer;
  edge: EdgeServer;
  db: KvsDatabase;
  registry: FunctionRegistry;
  live: LiveFunctions;
  /** Decisions, live streams, metrics and access logs of this node (docs/observability.md). */
  observability: NodeObservability;
  /** Stores created and functions created/updated from the config at start. */
  seeded: { stores: string[]; functions: ConfigFunctionChange[] };
  /**
   * Replaces the edge with one serving `config` on the same host and port (an edge's config is fixed for its
   * life). Closing the old edge cuts its open connections; `node.edge` is the new one afterwards. The caller makes
   * the config's stores and functions exist first. If the new edge cannot start, the old config is served again.
   */
  restartEdge(config: EdgeConfig): Promise<EdgeServer>;
  close(): Promise<void>;
}

export async function startOpenFrontNode(options: OpenFrontNodeOptions): Promise<OpenFrontNode> {
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const limits = options.kvsLimits ?? (options.config.kvsLimits === 'unlimited' ? UNLIMITED_KVS_LIMITS : DEFAULT_KVS_LIMITS);
  const db = KvsDatabase.open(join(options.dataDir, 'openfront.db'), { limits });
  const cleanup: Array<() => unknown> = [() => db.close()];
  const closeAll = async () => {
    for (const step of cleanup.reverse()) await step();
  };
  try {
    const replicas = new ReplicaSet(db);
    cleanup.push(() => replicas.close());
    let inUse = functionsUsedByConfig(options.config);
    const registry = new FunctionRegistry(db, { isFunctionInUse: (name) => inUse.has(name) });
    const stores = await ensureConfigStores(options.config, db);
    const functions = await syncConfigFunctions(options.config, registry, db);
    let edgeConfig = options.config;
    const storeAnswersAnyId =
      options.localStoreIds === true ? (storeId: string) => !edgeConfig.stores.some((s) => s.awsId === storeId.toLowerCase()) : undefined;
    const live = new LiveFunctions(registry, replicas, { limits: options.runtimeLimits, storeAnswersAnyId });
    cleanup.push(() => live.close());
    let edge: EdgeServer | undefined;
    const observability = await startNodeObservability({
      config: options.config.observability,
      db,
      nodeId: options.config.server.nodeId,
      cacheStats: () => edge?.cacheStats() ?? { bytes: 0, entries: 0, evictions: 0 },
      isolateHeap: () => live.heapUsage(),
      accessLog: options.observability?.accessLog,
      metricsPort: options.observability?.metricsPort,
      insecureNoAuth: options.api?.insecureNoAuth,
    });
    cleanup.push(() => observability.close());
    const { debug, observer } = observability;
    edge = await startEdge({ config: options.config, functions: live, debug, observer, ...options.edge });
    cleanup.push(() => edge!.close());
    // The API outlives edge restarts, so it reaches the edge through this indirection.
    const currentEdge = { invalidate: (distributionId: string, paths: string[]) => edge!.invalidate(distributionId, paths) };
    const api = await startApiServer({
      db,
      host: options.api?.host,
      port: options.api?.port,
      auth: { insecureNoAuth: options.api?.insecureNoAuth ?? false },
      importDir: options.api?.importDir ?? options.config.kvsImportDir,
      limits: options.config.apiLimits,
      routes: [
        functionRouteGroup(registry, replicas, { limits: options.runtimeLimits, testRuns: options.testRuns }),
        invalidationRouteGroup(currentEdge),
        observability.routes,
      ],
    });
    cleanup.push(() => api.close());
    const restartEdge = async (config: EdgeConfig): Promise<EdgeServer> => {
      const place = { host: options.edge?.host ?? edgeConfig.server.host, port: edge!.port };
      await edge!.close();
      try {
        edge = await startEdge({ ...options.edge, ...place, config, functions: live, debug, observer });
      } catch (err) {
        edge = await startEdge({ ...options.edge, ...place, config: edgeConfig, functions: live, debug, observer });
        throw err;
      }
      edgeConfig = config;
      inUse = functionsUsedByConfig(config);
      return edge;
    };
    return {
      api,
      get edge() {
        return edge!;
      },
      observability,
      db,
      registry,
      live,
      seeded: { stores, functions },
      restartEdge,
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
