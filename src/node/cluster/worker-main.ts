/**
 * An edge worker of `openfront start --workers N`: forked by the primary (node:cluster), it serves the edge on the
 * port the primary shares and reads the same SQLite file, never writing it. The primary tells it of every KVS commit
 * and LIVE move over IPC; the worker then reads the change from the database (the change log for stores, the
 * registry for functions), so what it serves is what the database holds, in commit order. Its cache is its own (a
 * disk tier in its own directory); its metrics and decisions go to the primary (worker-observer.ts).
 */
import type { EdgeConfig } from '../../config/types.js';
import { FunctionRegistry } from '../../control/functions/index.js';
import { startEdge, type EdgeServer } from '../../edge/index.js';
import { isOpenFrontError } from '../../errors.js';
import { ReplicaSet } from '../../kvs/replica.js';
import { openSqliteParts, type SqliteNodeDatabase } from '../../state/sqlite/index.js';
import { LiveFunctions } from '../live-functions.js';
import { WORKER_HEADER, type FromWorker, type ToWorker, type WorkerStart } from './protocol.js';
import { workerConfig } from './worker-config.js';
import { workerObservation, type WorkerObservation } from './worker-observer.js';

const LOAD_RETRIES = 5;
const LOAD_RETRY_MS = 200;

const send = (message: FromWorker) => process.send?.(message);

interface Running {
  db: SqliteNodeDatabase;
  replicas: ReplicaSet;
  live: LiveFunctions;
  edge: EdgeServer;
  observation: WorkerObservation;
  /** The config as this worker serves it: its own disk tier. */
  ownConfig: (config: EdgeConfig) => EdgeConfig;
}

let running: Running | undefined;
/** Messages that arrive while the worker starts wait here: none may be lost, and each is idempotent. */
const early: ToWorker[] = [];

async function start(options: WorkerStart): Promise<void> {
  const parts = openSqliteParts(options.dbFile, { limits: options.kvsLimits });
  const db = parts.database;
  const replicas = new ReplicaSet(parts.stores);
  const registry = new FunctionRegistry(parts);
  // Loading runs the function's top-level code under its CPU budget; a busy machine (N workers starting at once)
  // can miss it once. Such a load is retried a few times instead of leaving the function unserved until its next publish.
  const attempts = new Map<string, number>();
  const live: LiveFunctions = new LiveFunctions(registry, replicas, {
    limits: options.runtimeLimits,
    onLoadError: (name, version, err) => {
      const attempt = (attempts.get(`${name}@${version}`) ?? 0) + 1;
      attempts.set(`${name}@${version}`, attempt);
      const message = err instanceof Error ? err.message : String(err);
      if (attempt > LOAD_RETRIES) {
        process.emitWarning(`LIVE version ${version} of function ${name} cannot be loaded: ${message}`, 'OpenFrontLiveFunctionWarning');
        return;
      }
      setTimeout(() => live.refresh(name), LOAD_RETRY_MS * attempt).unref();
    },
  });
  const storeNames = new Map<string, string>();
  const observation = workerObservation({
    config: options.config.observability,
    observe: options.observe,
    storeName: (storeId) => {
      let name = storeNames.get(storeId);
      if (name === undefined) {
        name = parts.stores.getStore({ id: storeId })?.name;
        if (name !== undefined) storeNames.set(storeId, name);
      }
      return name;
    },
    lookupSecret: (id) => parts.keys.getAccessKeySecret(id),
    cacheStats: () => running?.edge.cacheStats() ?? { bytes: 0, entries: 0, evictions: 0 },
    isolateHeap: () => live.heapUsage(),
    send: (traces) => send({ type: 'decisions', traces }),
  });
  const ownConfig = (config: EdgeConfig): EdgeConfig => workerConfig(config, options);
  const edge = await startEdge({
    config: ownConfig(options.config),
    functions: live,
    host: options.host,
    port: options.port,
    httpsPort: options.httpsPort,
    defaultCertificate: options.defaultCertificate,
    cacheBytes: options.cacheBytes,
    throttle: options.throttle,
    responseHeaders: options.workerHeader ? [[WORKER_HEADER, String(process.pid)]] : [],
    observer: observation.observer,
    debug: observation.debug,
  });
  running = { db, replicas, live, edge, observation, ownConfig };
  for (const message of early.splice(0)) await handle(message);
  send({ type: 'listening', port: edge.port, httpsPort: edge.httpsPort });
}

async function handle(message: ToWorker): Promise<void> {
  if (message.type === 'start') {
    start(message.start).catch((err: unknown) => {
      send({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
      process.exit(1);
    });
    return;
  }
  if (running === undefined) {
    early.push(message);
    return;
  }
  const { replicas, live, edge, db, observation } = running;
  switch (message.type) {
    case 'kvs':
      replicas.catchUp(message.storeId);
      return;
    case 'live':
      live.refresh(message.name);
      return;
    case 'reconfigure':
    case 'invalidate':
      try {
        const value =
          message.type === 'reconfigure' ? edge.reconfigure(running.ownConfig(message.config)) : edge.invalidate(message.distributionId, message.paths);
        send({ type: 'reply', id: message.id, ok: true, value });
      } catch (err) {
        send({ type: 'reply', id: message.id, ok: false, message: (err as Error).message, code: isOpenFrontError(err) ? err.code : undefined });
      }
      return;
    case 'tailing':
      observation.setTailing(message.tailing);
      return;
    case 'decisions-ack':
      observation.batcher.acknowledge();
      return;
    case 'metrics':
      observation.metrics.registry.getMetricsAsJSON().then(
        (value) => send({ type: 'reply', id: message.id, ok: true, value }),
        (err: unknown) => send({ type: 'reply', id: message.id, ok: false, message: (err as Error).message }),
      );
      return;
    case 'drain': {
      const { cut } = await edge.drain(message.graceMs);
      // What the last requests decided goes with the rest, as far as the bounds allow.
      observation.batcher.flush();
      observation.close();
      live.close();
      replicas.close();
      db.close();
      process.send?.({ type: 'drained', cut } satisfies FromWorker, () => process.exit(0));
      return;
    }
  }
}

process.on('message', (message: ToWorker) => void handle(message));
send({ type: 'hello' });
// The primary drains and reloads workers; a signal sent to the whole process group (Ctrl-C in a terminal, a HUP
// when it closes) must neither cut them nor, for SIGHUP, kill them by its default action.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => undefined);
// A worker whose primary is gone has nobody to serve for.
process.on('disconnect', () => {
  if (running === undefined || !running.edge.draining) process.exit(0);
});
