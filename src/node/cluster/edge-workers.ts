/**
 * The primary's side of `openfront start --workers N` (docs/deploy.md): N edge processes on one port through
 * node:cluster, the primary accepting connections and handing them out round-robin. Node 20 has no SO_REUSEPORT
 * for `net` (the `reusePort` option came in 22.12/23.1), and round-robin spreads keep-alive-heavy load more evenly
 * than the kernel's hash would.
 *
 * The primary keeps the database, the control API and the config; it forwards every KVS commit and LIVE move to
 * the workers (who read the change itself from the database), replaces a worker that dies, and drains them all on
 * stop. To the node it looks like one edge.
 */
import cluster, { type Worker } from 'node:cluster';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EdgeConfig } from '../../config/types.js';
import type { EdgeReconfigureResult } from '../../edge/edge-server.js';
import { socketSettingsChanged } from '../../edge/edge-server.js';
import type { FunctionThrottleStats } from '../../edge/index.js';
import { openFrontError, OpenFrontError, type ErrorCode } from '../../errors.js';
import type { EdgeTrace } from '../../observe/decision-trace.js';
import type { WorkerMetrics } from '../observability.js';
import type { FromWorker, ToWorker, WorkerObserve, WorkerStart } from './protocol.js';

const WORKER_MAIN = fileURLToPath(new URL('./worker-main.js', import.meta.url));
/** A worker that dies sooner than this after it started is replaced only after this long (a crash loop backs off). */
const RESPAWN_BACKOFF_MS = 1_000;
/** How long a worker may take to start listening. */
const START_TIMEOUT_MS = 30_000;
/** How long a scrape waits for each worker's metrics before it answers without them. */
export const WORKER_METRICS_TIMEOUT_MS = 2_000;

export interface EdgeWorkersOptions {
  count: number;
  start: Omit<WorkerStart, 'config' | 'index' | 'workerCount' | 'observe'>;
  config: EdgeConfig;
  /** What the primary sees of the workers' requests (docs/deploy.md, "What the primary sees"). */
  observe: {
    settings: Omit<WorkerObserve, 'tailing'>;
    /** A decision a worker forwarded. */
    offer(trace: EdgeTrace): void;
    /** Subscribes to "somebody tails decisions"; returns the unsubscribe. */
    watchTailing(listener: (tailing: boolean) => void): () => void;
  };
  /** Default {@link WORKER_METRICS_TIMEOUT_MS}. */
  metricsTimeoutMs?: number;
  /** Subscribe to commits and LIVE moves of the primary's database and registry; each returns an unsubscribe. */
  follow: { kvs(listener: (storeId: string) => void): () => void; live(listener: (name: string) => void): () => void };
  /** Told of worker exits and replacements (default: stderr). */
  log?: (line: string) => void;
}

export interface EdgeWorkers {
  url: string;
  port: number;
  httpsUrl?: string;
  httpsPort?: number;
  readonly draining: boolean;
  readonly inFlight: number;
  /** Pids of the workers listening now. */
  pids(): number[];
  /** "ok", or how many of the workers are listening. */
  readiness(): string;
  reconfigure(config: EdgeConfig): Promise<EdgeReconfigureResult>;
  invalidate(distributionId: string, paths: string[]): Promise<number>;
  functionStats(): Record<string, FunctionThrottleStats>;
  cacheStats(): { bytes: number; entries: number; evictions: number };
  /** Every listening worker's metrics, as far as they answer within the metrics timeout. */
  metrics(): Promise<WorkerMetrics>;
  drain(graceMs: number): Promise<{ cut: number }>;
  close(): Promise<void>;
}

interface Tracked {
  worker: Worker;
  /** 1 to count; a replacement takes the index (and so the disk tier directory) of the worker it replaces. */
  index: number;
  listening: boolean;
  startedAt: number;
}

export async function startEdgeWorkers(options: EdgeWorkersOptions): Promise<EdgeWorkers> {
  if (!cluster.isPrimary) throw openFrontError('INTERNAL', 'edge workers are started from the primary process only');
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  cluster.setupPrimary({ exec: WORKER_MAIN, args: [], serialization: 'advanced' });
  let config = options.config;
  let draining = false;
  let nextId = 1;
  const tracked = new Map<number, Tracked>();
  const pending = new Map<number, { workerId: number; resolve: (value: unknown) => void; reject: (err: Error) => void }>();
  let tailing = false;
  // The workers' disk tiers live in w<index> below this; what an earlier run left is removed before any worker starts.
  const cacheBase = config.server.cache.diskDir ?? options.start.cacheDir;
  mkdirSync(cacheBase, { recursive: true, mode: 0o700 });
  for (const name of readdirSync(cacheBase)) rmSync(join(cacheBase, name), { recursive: true, force: true });

  const broadcast = (message: ToWorker) => {
    for (const t of tracked.values()) if (t.worker.isConnected()) t.worker.send(message);
  };
  const ask = (message: ToWorker & { id: number }, t: Tracked) =>
    new Promise<unknown>((resolve, reject) => {
      pending.set(message.id, { workerId: t.worker.id, resolve, reject });
      t.worker.send(message);
    });

  const fork = (index: number): Promise<{ port: number; httpsPort?: number; pid: number }> => {
    const worker = cluster.fork();
    const t: Tracked = { worker, index, listening: false, startedAt: Date.now() };
    tracked.set(worker.id, t);
    const listening = new Promise<{ port: number; httpsPort?: number; pid: number }>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(openFrontError('INTERNAL', `edge worker ${worker.process.pid} did not start listening within ${START_TIMEOUT_MS} ms`)),
        START_TIMEOUT_MS,
      );
      worker.on('message', (message: FromWorker) => {
        if (message.type === 'hello') {
          const observe: WorkerObserve = { ...options.observe.settings, tailing };
          worker.send({ type: 'start', start: { ...options.start, config, index, workerCount: options.count, observe } } satisfies ToWorker);
        } else if (message.type === 'listening') {
          clearTimeout(timer);
          t.listening = true;
          resolve({ port: message.port, httpsPort: message.httpsPort, pid: worker.process.pid! });
        } else if (message.type === 'failed') {
          clearTimeout(timer);
          reject(openFrontError('INTERNAL', `edge worker ${worker.process.pid} failed to start: ${message.message}`));
        } else if (message.type === 'decisions') {
          for (const trace of message.traces) options.observe.offer(trace);
          if (worker.isConnected()) worker.send({ type: 'decisions-ack' } satisfies ToWorker);
        } else if (message.type === 'reply') {
          const waiter = pending.get(message.id);
          pending.delete(message.id);
          if (message.ok) waiter?.resolve(message.value);
          else waiter?.reject(new OpenFrontError((message.code ?? 'INTERNAL') as ErrorCode, message.message));
        }
      });
      worker.once('exit', () => {
        clearTimeout(timer);
        reject(openFrontError('INTERNAL', `edge worker ${worker.process.pid} exited before it listened`));
      });
    });
    worker.once('exit', (code, signal) => {
      tracked.delete(worker.id);
      for (const [id, waiter] of pending) {
        if (waiter.workerId !== worker.id) continue;
        pending.delete(id);
        waiter.reject(openFrontError('INTERNAL', `edge worker ${worker.process.pid} exited before it answered`));
      }
      if (draining) return;
      const lived = Date.now() - t.startedAt;
      log(`openfront: edge worker ${worker.process.pid} exited (${signal ?? `code ${code}`}); starting a new one`);
      const respawn = () => {
        if (draining) return;
        fork(index).then(
          (next) => log(`openfront: edge worker ${worker.process.pid} replaced by ${next.pid}`),
          (err: unknown) => log(`openfront: ${(err as Error).message}`),
        );
      };
      if (lived < RESPAWN_BACKOFF_MS) setTimeout(respawn, RESPAWN_BACKOFF_MS).unref();
      else respawn();
    });
    return listening;
  };

  const unfollow = [
    options.follow.kvs((storeId) => broadcast({ type: 'kvs', storeId })),
    options.follow.live((name) => broadcast({ type: 'live', name })),
    options.observe.watchTailing((now) => {
      tailing = now;
      broadcast({ type: 'tailing', tailing: now });
    }),
  ];

  let port: number;
  let httpsPort: number | undefined;
  try {
    const started = await Promise.all(Array.from({ length: options.count }, (_, i) => fork(i + 1)));
    port = started[0].port;
    httpsPort = started[0].httpsPort;
  } catch (err) {
    draining = true;
    for (const t of tracked.values()) t.worker.kill('SIGKILL');
    for (const stop of unfollow) stop();
    throw err;
  }
  const host = options.start.host ?? config.server.host;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  const metricsTimeoutMs = options.metricsTimeoutMs ?? WORKER_METRICS_TIMEOUT_MS;
  const metricsOf = (t: Tracked) =>
    new Promise<WorkerMetrics['answers'][number] | undefined>((resolve) => {
      const id = nextId++;
      // A stuck worker must not hang the scrape: it answers without that worker's counts, and says so.
      const timer = setTimeout(() => {
        pending.delete(id);
        log(
          `openfront: edge worker ${t.worker.process.pid} (w${t.index}) did not send its metrics within ${metricsTimeoutMs} ms: they are missing from this scrape`,
        );
        resolve(undefined);
      }, metricsTimeoutMs);
      pending.set(id, {
        workerId: t.worker.id,
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value as WorkerMetrics['answers'][number]);
        },
        reject: () => {
          clearTimeout(timer);
          resolve(undefined);
        },
      });
      t.worker.send({ type: 'metrics', id } satisfies ToWorker);
    });

  const drain = async (graceMs: number) => {
    draining = true;
    for (const stop of unfollow) stop();
    const workers = [...tracked.values()];
    const cuts = await Promise.all(
      workers.map(
        (t) =>
          new Promise<number>((resolve) => {
            let cut = 0;
            t.worker.on('message', (message: FromWorker) => {
              if (message.type === 'drained') cut = message.cut;
            });
            // A worker that does not finish its drain in time (plus a margin to close) is killed.
            const timer = setTimeout(() => t.worker.kill('SIGKILL'), graceMs + 5_000);
            t.worker.once('exit', () => {
              clearTimeout(timer);
              resolve(cut);
            });
            if (t.worker.isConnected()) t.worker.send({ type: 'drain', graceMs } satisfies ToWorker);
            else t.worker.kill('SIGKILL');
          }),
      ),
    );
    return { cut: cuts.reduce((a, b) => a + b, 0) };
  };

  return {
    url: `http://${urlHost}:${port}`,
    port,
    ...(httpsPort === undefined ? {} : { httpsUrl: `https://${urlHost}:${httpsPort}`, httpsPort }),
    get draining() {
      return draining;
    },
    // Requests in flight live in the workers; the primary does not count them.
    inFlight: 0,
    pids: () => [...tracked.values()].filter((t) => t.listening).map((t) => t.worker.process.pid!),
    readiness() {
      const listening = [...tracked.values()].filter((t) => t.listening).length;
      return listening >= options.count ? 'ok' : `${listening}/${options.count} workers listening`;
    },
    async reconfigure(next) {
      const restartNeeded = socketSettingsChanged(config, next, options.start);
      config = next;
      await Promise.all([...tracked.values()].filter((t) => t.listening).map((t) => ask({ type: 'reconfigure', id: nextId++, config: next }, t)));
      return { restartNeeded };
    },
    async invalidate(distributionId, paths) {
      const counts = await Promise.all(
        [...tracked.values()].filter((t) => t.listening).map((t) => ask({ type: 'invalidate', id: nextId++, distributionId, paths }, t) as Promise<number>),
      );
      return counts.reduce((a, b) => a + b, 0);
    },
    // Counted in the workers: their cache and request metrics reach /metrics through metrics(); throttle stats stay there.
    functionStats: () => ({}),
    cacheStats: () => ({ bytes: 0, entries: 0, evictions: 0 }),
    async metrics() {
      const listening = [...tracked.values()].filter((t) => t.listening && t.worker.isConnected()).sort((a, b) => a.index - b.index);
      const answers = await Promise.all(listening.map(metricsOf));
      return {
        answers: answers.filter((a) => a !== undefined),
        workers: listening.map((t, i) => ({ index: t.index, pid: t.worker.process.pid!, answered: answers[i] !== undefined })),
      };
    },
    drain,
    close: async () => {
      if (!draining) await drain(0);
    },
  };
}
