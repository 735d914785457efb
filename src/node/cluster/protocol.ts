/**
 * The messages between the primary of `openfront start --workers N` and its edge workers (docs/deploy.md). The
 * channel uses node's "advanced" serialization (structured clone), so a config travels as it is.
 */
import type { CertificateFiles, EdgeConfig } from '../../config/types.js';
import type { ThrottleLimits } from '../../edge/index.js';
import type { KvsLimits } from '../../kvs/types.js';
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
}

export type ToWorker =
  | { type: 'start'; start: WorkerStart }
  /** A commit to this store: catch up from the change log. */
  | { type: 'kvs'; storeId: string }
  /** LIVE of this function moved: re-read it. */
  | { type: 'live'; name: string }
  | { type: 'reconfigure'; id: number; config: EdgeConfig }
  | { type: 'invalidate'; id: number; distributionId: string; paths: string[] }
  | { type: 'drain'; graceMs: number };

export type FromWorker =
  /** The worker's message listener is attached: it can be sent `start` (an earlier message would be lost). */
  | { type: 'hello' }
  | { type: 'listening'; port: number; httpsPort?: number }
  | { type: 'failed'; message: string }
  | { type: 'reply'; id: number; ok: true; value: unknown }
  | { type: 'reply'; id: number; ok: false; message: string; code?: string }
  | { type: 'drained'; cut: number };

/** The response header naming the worker process that answered, with `--worker-header`. */
export const WORKER_HEADER = 'x-openfront-worker';
