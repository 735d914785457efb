/**
 * The messages between the primary of `openfront start --workers N` and its edge workers (docs/deploy.md). The
 * channel uses node's "advanced" serialization (structured clone), so a config travels as it is.
 */
import type { CertificateFiles, EdgeConfig } from '../../config/types.js';
import type { ThrottleLimits } from '../../edge/index.js';
import type { KvsLimits } from '../../kvs/types.js';
import type { EdgeTrace } from '../../observe/decision-trace.js';
import type { RuntimeLimits } from '../../runtime/types.js';

/** What a worker needs to serve: the database it reads and the edge it runs. */
export interface WorkerStart {
  dbFile: string;
  kvsLimits: KvsLimits;
  config: EdgeConfig;
  host?: string;
  port?: number;
  /** HTTPS on this port too (docs/edge.md), with this certificate when the config names none. */
  httpsPort?: number;
  defaultCertificate?: CertificateFiles;
  cacheBytes?: number;
  throttle?: Partial<ThrottleLimits>;
  runtimeLimits?: Partial<RuntimeLimits>;
  /** Add `x-openfront-worker: <pid>` to every response (tests, debugging a fleet). */
  workerHeader: boolean;
  /** This worker's place, 1 to `workerCount`: a replacement takes the index of the worker it replaces. */
  index: number;
  workerCount: number;
  /**
   * Where the workers' disk tiers live (config `server.cache.diskDir` wins): this worker's is `w<index>` in it, with
   * `server.cache.diskBytes / workerCount` bytes (docs/deploy.md).
   */
  cacheDir: string;
  observe: WorkerObserve;
}

/** What the primary wants to see of the worker's requests (docs/deploy.md, "What the primary sees"). */
export interface WorkerObserve {
  /** Trace every request: the primary writes an access log. */
  traceAll: boolean;
  /** Somebody tails decisions on the primary: trace every request while it lasts. */
  tailing: boolean;
  /** Otherwise, the first this many requests of each second (the worker's share of `decisions.perSecond`). */
  perSecond: number;
  /** The API has no keys to verify `openfront explain`'s signature with: its debug header is ignored. */
  insecureNoAuth: boolean;
}

export type ToWorker =
  | { type: 'start'; start: WorkerStart }
  /** A commit to this store: catch up from the change log. */
  | { type: 'kvs'; storeId: string }
  /** LIVE of this function moved: re-read it. */
  | { type: 'live'; name: string }
  | { type: 'reconfigure'; id: number; config: EdgeConfig }
  | { type: 'invalidate'; id: number; distributionId: string; paths: string[] }
  | { type: 'drain'; graceMs: number }
  /** Somebody started or stopped tailing on the primary. */
  | { type: 'tailing'; tailing: boolean }
  /** Reply with the worker's metrics (`Registry.getMetricsAsJSON()`), summed by the primary. */
  | { type: 'metrics'; id: number }
  /** The primary has taken one `decisions` batch. */
  | { type: 'decisions-ack' };

export type FromWorker =
  /** The worker's message listener is attached: it can be sent `start` (an earlier message would be lost). */
  | { type: 'hello' }
  | { type: 'listening'; port: number; httpsPort?: number }
  | { type: 'failed'; message: string }
  | { type: 'reply'; id: number; ok: true; value: unknown }
  | { type: 'reply'; id: number; ok: false; message: string; code?: string }
  | { type: 'drained'; cut: number }
  /** Decision traces of requests this worker served (bounded: see decision-batcher.ts). */
  | { type: 'decisions'; traces: EdgeTrace[] };

/** The response header naming the worker process that answered, with `--worker-header`. */
export const WORKER_HEADER = 'x-openfront-worker';
