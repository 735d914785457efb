/**
 * The LIVE functions of an edge in fleet mode (docs/fleet-edge.md): the JetStream twin of ./live-functions.ts. It follows
 * the `of_functions` bucket (written by the control role's function registry) and, when a function's LIVE version
 * moves, fetches that version's code from `of_function_versions` (`<name>.v<version>`), loads it, and swaps it in
 * with one Map write, so a request gets the old entry or the new one, never a half-loaded function. The store a
 * function is associated with is read through that store's JetStream replica.
 *
 * Every LIVE function is also saved in the edge's state file, so a restarted edge serves them before (or without)
 * reaching NATS.
 */
import { DeliverPolicy, type JsMsg } from '@nats-io/jetstream';
import type { KvEntry } from '@nats-io/kv';
import type { FunctionSource, LiveFunction } from '../edge/function-source.js';
import { loadFunctionSync } from '../runtime/function.js';
import { storeIdOf } from '../runtime/kvs-access.js';
import { RUNTIMES, type RuntimeVersion } from '../runtime/event.js';
import type { CloudFrontFunction, KvsBinding, RuntimeLimits } from '../runtime/types.js';
import type { NatsConnectionHandle } from '../state/jetstream/connection.js';
import { FeedLoop } from '../state/jetstream/feed-loop.js';
import { isStreamNotFound } from '../state/jetstream/kv-data/stream-feed.js';
import type { EdgeStateFile, SavedFunction } from '../state/jetstream/kv-data/snapshot-file.js';
import type { KvsSnapshotSource } from '../kvs/snapshot.js';
import { RetiredFunctions } from '../runtime/retired-functions.js';

export const FUNCTIONS_BUCKET = 'of_functions';
export const FUNCTION_VERSIONS_BUCKET = 'of_function_versions';
const FUNCTIONS_STREAM = `KV_${FUNCTIONS_BUCKET}`;
const FUNCTIONS_SUBJECTS = `$KV.${FUNCTIONS_BUCKET}.>`;

/** A record of `of_functions` as the feed reads it from the bucket's stream. */
interface FunctionRecordEntry {
  key: string;
  operation: 'PUT' | 'DEL' | 'PURGE';
  string(): string;
}

function recordOfMessage(m: Pick<JsMsg, 'subject' | 'headers' | 'data'>): FunctionRecordEntry {
  const op = m.headers?.get('KV-Operation');
  const data = m.data;
  return {
    key: m.subject.slice(FUNCTIONS_SUBJECTS.length - 1),
    operation: op === 'DEL' || op === 'PURGE' ? op : 'PUT',
    string: () => Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'),
  };
}

/** What the edge needs of one LIVE version, as saved in the state file. */
export interface LiveCode {
  version: number;
  etag: string;
  code: string;
  runtime: RuntimeVersion;
  kvsStoreId?: string;
}

interface Entry {
  fn: CloudFrontFunction;
  live: LiveCode;
  kvs: KvsBinding;
  appliedAt: Date;
}

export interface FleetLiveFunctionsOptions {
  stateFile?: EdgeStateFile;
  /** The replica of a store a function reads (created and followed by the edge role on first use). */
  storeSource: (storeId: string) => KvsSnapshotSource;
  limits?: Partial<RuntimeLimits>;
  log?: (message: string, detail?: Record<string, unknown>) => void;
  /** Called after a LIVE version was loaded or removed (for the edge reporter). */
  onApplied?: (name: string, version: number | undefined) => void;
  /** How long a replaced isolate is kept before it is freed (must exceed an invocation's kill-after limit). */
  retireAfterMs?: number;
  /** How long without a server heartbeat before the feed subscribes again (ms; default 2000, as the store replica). */
  idleHeartbeatMs?: number;
}

export class FleetLiveFunctions implements FunctionSource {
  readonly #options: FleetLiveFunctionsOptions;
  readonly #entries = new Map<string, Entry>();
  readonly #retired: RetiredFunctions;
  readonly #feed = new FeedLoop();
  #stopWatch: (() => void) | undefined;
  /** Subscriptions made to `of_functions` so far (the first, then one per restart). */
  subscriptions = 0;
  #running: Promise<void> | undefined;

  /** Loads the functions saved in the state file (a function that no longer loads is skipped and logged). */
  constructor(options: FleetLiveFunctionsOptions) {
    this.#options = options;
    this.#retired = new RetiredFunctions(options.retireAfterMs);
    for (const saved of options.stateFile?.loadFunctions() ?? []) {
      const live = parseSaved(saved);
      if (live !== undefined) this.#install(saved.name, live, false);
    }
  }

  live(name: string): LiveFunction | undefined {
    const entry = this.#entries.get(name);
    return entry && { fn: entry.fn, version: String(entry.live.version), kvs: entry.kvs };
  }

  /** The LIVE version each loaded function serves, with when it was applied here. */
  versions(): Record<string, { version: number; appliedAt: Date }> {
    return Object.fromEntries([...this.#entries].map(([name, e]) => [name, { version: e.live.version, appliedAt: e.appliedAt }]));
  }

  /** Store ids the loaded functions read. */
  storeIds(): string[] {
    return [...new Set([...this.#entries.values()].flatMap((e) => (e.live.kvsStoreId === undefined ? [] : [e.live.kvsStoreId])))];
  }

  /** Follows `of_functions` through `conn` until close() (waiting for the connection and the bucket as needed). */
  follow(conn: NatsConnectionHandle): void {
    const unsubscribe = conn.onConnectionChange((event) => {
      if (event === 'reconnect') this.#stopWatch?.();
    });
    this.#running = this.#loop(conn).finally(unsubscribe);
  }

  async close(): Promise<void> {
    this.#feed.close();
    this.#stopWatch?.();
    await this.#running;
    for (const entry of this.#entries.values()) entry.fn.dispose();
    this.#retired.disposeAll();
    this.#entries.clear();
  }

  #loop(conn: NatsConnectionHandle): Promise<void> {
    return this.#feed.run(
      conn,
      () => this.#watchOnce(conn),
      (err, retryMs) => this.#options.log?.('function feed failed; retrying', { error: err instanceof Error ? err.message : String(err), retryMs }),
    );
  }

  /**
   * One subscription to `of_functions`: an ordered consumer (the last record of each function, then every change)
   * with server heartbeats, as the store replica follows its stream. It ends on a reconnect (follow()), on missed
   * heartbeats (the consumer's server died while our connection is to another, or the consumer is gone), on a
   * failure or on close; the feed loop then subscribes again.
   */
  async #watchOnce(conn: NatsConnectionHandle): Promise<void> {
    let lastSeq: number;
    try {
      lastSeq = (await conn.jsm.streams.info(FUNCTIONS_STREAM)).state.last_seq;
    } catch (err) {
      // Until the control role creates the bucket, wait.
      if (isStreamNotFound(err)) {
        await this.#feed.sleep(1000);
        return;
      }
      throw err;
    }
    const versions = await conn.kvm.open(FUNCTION_VERSIONS_BUCKET);
    const consumer = await conn.js.consumers.get(FUNCTIONS_STREAM, { filter_subjects: FUNCTIONS_SUBJECTS, deliver_policy: DeliverPolicy.LastPerSubject });
    // Functions deleted while this edge was away: the initial records (up to lastSeq) name every function that exists.
    const seen = new Set<string>();
    let initialised = false;
    const initialise = () => {
      initialised = true;
      for (const name of [...this.#entries.keys()]) if (!seen.has(name)) this.#remove(name);
    };
    if (lastSeq === 0) initialise();
    // Records apply one after the other (a LIVE move fetches its code first), in stream order.
    let applying = Promise.resolve();
    const heartbeat = this.#options.idleHeartbeatMs ?? 2000;
    const messages = await consumer.consume({
      idle_heartbeat: heartbeat,
      expires: Math.max(heartbeat * 3, 1000),
      callback: (m) => {
        const record = recordOfMessage(m);
        applying = applying
          .then(async () => {
            if (this.#feed.closed) return;
            seen.add(record.key);
            await this.#onEntry(record, versions);
            if (!initialised && m.seq >= lastSeq) initialise();
          })
          .catch((err: unknown) =>
            this.#options.log?.('function record not applied', { function: record.key, error: err instanceof Error ? err.message : String(err) }),
          );
      },
    });
    this.subscriptions += 1;
    const ended = new Promise<void>((resolve) => (this.#stopWatch = resolve));
    void (async () => {
      for await (const s of messages.status()) {
        if (s.type === 'heartbeats_missed') {
          this.#options.log?.('function feed restarts', { reason: 'heartbeats missed' });
          this.#stopWatch?.();
          break;
        }
      }
    })();
    try {
      await Promise.race([ended, messages.closed(), this.#feed.closedSignal]);
    } finally {
      this.#stopWatch = undefined;
      await messages.close().catch(() => undefined);
      await applying;
    }
  }

  async #onEntry(e: FunctionRecordEntry, versions: { get(key: string): Promise<KvEntry | null> }): Promise<void> {
    const name = e.key;
    if (e.operation !== 'PUT') {
      this.#remove(name);
      return;
    }
    let record: FunctionRecord;
    try {
      record = JSON.parse(e.string()) as FunctionRecord;
    } catch {
      this.#options.log?.('function record is not JSON; ignored', { function: name });
      return;
    }
    const liveVersion = record.live?.version;
    if (typeof liveVersion !== 'number') {
      this.#remove(name);
      return;
    }
    const current = this.#entries.get(name);
    if (current?.live.version === liveVersion) return;
    const body = await versions.get(`${name}.v${liveVersion}`);
    if (body === null || body.operation !== 'PUT') {
      this.#options.log?.('LIVE function version has no code in of_function_versions; the previous one keeps serving', {
        function: name,
        version: liveVersion,
      });
      return;
    }
    const live = parseVersionBody(body.string(), liveVersion, record);
    if (live === undefined) {
      this.#options.log?.('LIVE function version is unreadable; the previous one keeps serving', { function: name, version: liveVersion });
      return;
    }
    this.#install(name, { ...live, etag: record.live?.etag ?? '' }, true);
  }

  #install(name: string, live: LiveCode, save: boolean): void {
    let fn: CloudFrontFunction;
    try {
      fn = loadFunctionSync(live.code, { name, runtime: live.runtime, limits: this.#options.limits });
    } catch (err) {
      this.#options.log?.('LIVE function cannot be loaded; the previous one keeps serving', {
        function: name,
        version: live.version,
        error: err instanceof Error ? err.message : String(err),
      });
      return;
    }
    const kvs: KvsBinding =
      live.kvsStoreId === undefined
        ? { stores: new Map() }
        : { defaultStoreId: live.kvsStoreId, stores: new Map([[live.kvsStoreId, this.#options.storeSource(live.kvsStoreId)]]) };
    const previous = this.#entries.get(name);
    this.#entries.set(name, { fn, live, kvs, appliedAt: new Date() });
    if (previous !== undefined) this.#retired.add(previous.fn);
    if (save) {
      this.#options.stateFile?.saveFunction({
        name,
        version: live.version,
        etag: live.etag,
        body: JSON.stringify({ code: live.code, runtime: live.runtime, kvsStoreId: live.kvsStoreId }),
      });
    }
    this.#options.onApplied?.(name, live.version);
  }

  #remove(name: string): void {
    const current = this.#entries.get(name);
    if (current === undefined) return;
    this.#entries.delete(name);
    this.#retired.add(current.fn);
    this.#options.stateFile?.deleteFunction(name);
    this.#options.onApplied?.(name, undefined);
  }
}

/** The parts of an `of_functions` record the edge reads. */
interface FunctionRecord {
  live?: { version?: number; etag?: string };
  versions?: Array<{ version?: number; sha256?: string; runtime?: string; kvsArns?: string[]; config?: { runtime?: string; keyValueStoreArn?: string } }>;
}

function runtimeOf(value: unknown): RuntimeVersion | undefined {
  return typeof value === 'string' && (RUNTIMES as readonly string[]).includes(value) ? (value as RuntimeVersion) : undefined;
}

/** `{code, config}` of `of_function_versions`, with the version's entry in the function record as a fallback. */
function parseVersionBody(text: string, version: number, record: FunctionRecord): Omit<LiveCode, 'etag'> | undefined {
  let body: { code?: unknown; sha256?: unknown; config?: { runtime?: unknown; keyValueStoreArn?: unknown; kvsArns?: unknown } };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    return undefined;
  }
  if (typeof body.code !== 'string') return undefined;
  const listed = record.versions?.find((v) => v.version === version);
  // The registry writes the code before the record; a leftover under the same key (a crash) has another hash.
  if (typeof listed?.sha256 === 'string' && typeof body.sha256 === 'string' && listed.sha256 !== body.sha256) return undefined;
  const runtime = runtimeOf(body.config?.runtime) ?? runtimeOf(listed?.runtime) ?? runtimeOf(listed?.config?.runtime);
  if (runtime === undefined) return undefined;
  const arns = Array.isArray(body.config?.kvsArns) ? (body.config.kvsArns as unknown[]) : listed?.kvsArns;
  const arn = body.config?.keyValueStoreArn ?? listed?.config?.keyValueStoreArn ?? arns?.[0];
  return { version, code: body.code, runtime, ...(typeof arn === 'string' && arn !== '' ? { kvsStoreId: storeIdOf(arn) } : {}) };
}

function parseSaved(saved: SavedFunction): LiveCode | undefined {
  try {
    const body = JSON.parse(saved.body) as { code?: unknown; runtime?: unknown; kvsStoreId?: unknown };
    const runtime = runtimeOf(body.runtime);
    if (typeof body.code !== 'string' || runtime === undefined) return undefined;
    return {
      version: saved.version,
      etag: saved.etag,
      code: body.code,
      runtime,
      ...(typeof body.kvsStoreId === 'string' ? { kvsStoreId: body.kvsStoreId } : {}),
    };
  } catch {
    return undefined;
  }
}
