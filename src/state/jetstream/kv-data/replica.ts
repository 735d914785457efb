/**
 * An edge's replica of one store, fed by its JetStream stream (docs/fleet-edge.md, "How an edge follows a store"). What the edge reads
 * through `ReplicaSource`, like the single-node `KvsReplica`.
 *
 * - **Start**: from the snapshot file in `--state-dir` when there is one, so the edge serves at once, with NATS
 *   reachable or not.
 * - **Follow**: an ordered consumer from version + 1 (`LastPerSubject` for a cold load); journal messages apply a
 *   whole batch in one step. What the stream holds beyond the version at subscription time is applied to a staged
 *   copy and swapped in whole once reached, so a cold or catching-up edge never serves a half-loaded store.
 * - **Gaps**: a stream that went backwards or was recreated (another creation time) means the copy is not a prefix
 *   of it: the replica reloads from scratch.
 * - **Outages**: the ordered consumer is ephemeral and lives on one server; after a reconnect, or when its
 *   heartbeats stop (its server died while our connection is to another), the replica recreates it from its own
 *   version + 1 rather than wait for the client library's slower recovery.
 */
import { openFrontError } from '../../../errors.js';
import type { KvsSnapshot } from '../../../kvs/snapshot.js';
import type { ReplicaSource } from '../../../kvs/types.js';
import type { NatsConnectionHandle } from '../connection.js';
import { FeedLoop } from '../feed-loop.js';
import { storeStream } from '../key-codec.js';
import type { EdgeStateFile } from './snapshot-file.js';
import { StoreView } from './store-view.js';
import { consumerOptionsFrom, entryOfMessage, pullBatch, streamState } from './stream-feed.js';

export interface JetStreamStoreReplicaOptions {
  storeId: string;
  /** The edge's snapshot file: loaded at start, saved after changes. */
  stateFile?: EdgeStateFile;
  /** Called after each applied message, with the new version (for the edge reporter). */
  onApplied?: (version: number) => void;
  /** Notes for the operator's log (reloads, resubscriptions, errors while following). */
  log?: (message: string, detail?: Record<string, unknown>) => void;
  /** How long without a server heartbeat before the feed is recreated (ms; default 2000). */
  idleHeartbeatMs?: number;
  /** How soon after a change the snapshot file is written (ms; default 100). */
  saveDelayMs?: number;
}

type Waiter = { version: number; resolve: () => void };

export class JetStreamStoreReplica implements ReplicaSource {
  readonly storeId: string;
  readonly #options: JetStreamStoreReplicaOptions;
  #view: StoreView;
  #streamCreated = '';
  readonly #feed = new FeedLoop();
  #running: Promise<void> | undefined;
  /** When follow() was called (performance.now()), for the load time the operator's log reports. */
  #followedAt = 0;
  /** Ends the current feed so that the loop recreates it. */
  #restartFeed: (() => void) | undefined;
  #waiters: Waiter[] = [];
  #saveTimer: NodeJS.Timeout | undefined;
  #caughtUp = false;
  #fullRewrite = false;
  #caughtUpWaiters: Array<() => void> = [];
  /** How many times the feed was (re)created: 1 after the first subscription. */
  subscriptions = 0;
  /** How many times the copy was thrown away and loaded again from the stream. */
  reloads = 0;
  /** Messages received from the stream (a restart from the snapshot fetches only what it missed). */
  received = 0;

  constructor(options: JetStreamStoreReplicaOptions) {
    this.storeId = options.storeId;
    this.#options = options;
    const saved = options.stateFile?.loadStore(options.storeId);
    if (saved !== undefined) {
      this.#view = new StoreView(options.storeId, { ...saved, created: new Date(saved.streamCreated) });
      this.#streamCreated = saved.streamCreated;
      this.#view.takeChanges(); // what was loaded is already saved
    } else {
      this.#view = new StoreView(options.storeId);
    }
  }

  /** Version of the data the replica serves now (0 before anything was loaded). */
  get version(): number {
    return this.#view.version;
  }

  /** True when the replica was loaded from the snapshot file or from the stream (it has something to serve). */
  get loaded(): boolean {
    return this.#view.version > 0 || this.#caughtUp;
  }

  snapshot(): KvsSnapshot {
    return this.#view.snapshot();
  }

  /** Starts following the stream through `conn` (which may be disconnected now: the replica waits for it). */
  follow(conn: NatsConnectionHandle): void {
    if (this.#running !== undefined) throw openFrontError('INTERNAL', `The replica of store ${this.storeId} already follows its stream`);
    const unsubscribe = conn.onConnectionChange((event) => {
      if (event === 'reconnect') this.#restart('reconnected');
    });
    this.#followedAt = performance.now();
    this.#running = this.#loop(conn).finally(unsubscribe);
  }

  /** Resolves once the replica has applied at least `version` (at once when it has); rejects after `timeoutMs`. */
  whenVersion(version: number, timeoutMs = 10_000): Promise<void> {
    if (this.#view.version >= version) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(openFrontError('STATE_UNAVAILABLE', `Store ${this.storeId}: version ${version} not reached within ${timeoutMs} ms (at ${this.#view.version})`));
      }, timeoutMs);
      const waiter: Waiter = {
        version,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.#waiters.push(waiter);
    });
  }

  /** Resolves once the replica has caught up with the stream's last sequence as of its first subscription. */
  whenCaughtUp(): Promise<void> {
    if (this.#caughtUp) return Promise.resolve();
    return new Promise((resolve) => this.#caughtUpWaiters.push(resolve));
  }

  /** Stops following and writes the snapshot file one last time. */
  async close(): Promise<void> {
    this.#feed.close();
    this.#restartFeed?.();
    await this.#running;
    this.#flush();
  }

  #restart(reason: string): void {
    if (this.#restartFeed !== undefined) {
      this.#options.log?.('store feed restarts', { storeId: this.storeId, reason, version: this.#view.version });
      this.#restartFeed();
    }
  }

  #loop(conn: NatsConnectionHandle): Promise<void> {
    return this.#feed.run(
      conn,
      () => this.#followOnce(conn),
      (err, retryMs) =>
        this.#options.log?.('store feed failed; retrying', { storeId: this.storeId, error: err instanceof Error ? err.message : String(err), retryMs }),
    );
  }

  /** One subscription: from the stream's state to the end of the feed (a restart, a failure or close). */
  async #followOnce(conn: NatsConnectionHandle): Promise<void> {
    const state = await streamState(conn, this.storeId);
    if (state === undefined) {
      // The store's data does not exist (yet): serve what we have, look again shortly.
      await this.#feed.sleep(1000);
      return;
    }
    const reset = state.created !== this.#streamCreated || state.lastSeq < this.#view.version;
    if (reset && this.#view.version > 0) {
      this.reloads += 1;
      this.#options.log?.('store copy is not a prefix of the stream; reloading', {
        storeId: this.storeId,
        version: this.#view.version,
        streamLastSeq: state.lastSeq,
      });
    }
    const target = state.lastSeq;
    // Behind the stream, the messages up to `target` are applied to a staged copy while the current one keeps
    // serving, then swapped in whole: with `history: 1` the superseded messages of the gap are gone, so the states
    // in between would mix old and new values in ways no version ever held.
    this.#flush();
    let staged: StoreView | undefined = reset
      ? new StoreView(this.storeId, { created: new Date(state.created) })
      : this.#view.version < target
        ? this.#view.clone()
        : undefined;
    const promote = () => {
      this.#view = staged!;
      staged = undefined;
      this.#streamCreated = state.created;
      if (reset) this.#fullRewrite = true;
      this.#applied(target);
    };
    staged?.catchUpTo(target);
    if (staged === undefined) this.#markCaughtUp();
    else if (staged.version >= target) promote();
    const consumer = await conn.js.consumers.get(storeStream(this.storeId), consumerOptionsFrom(this.storeId, (staged ?? this.#view).version));
    const heartbeat = this.#options.idleHeartbeatMs ?? 2000;
    const messages = await consumer.consume({
      ...pullBatch(),
      idle_heartbeat: heartbeat,
      expires: Math.max(heartbeat * 3, 1000),
      callback: (m) => {
        const entry = entryOfMessage(this.storeId, m);
        if (entry === undefined) return;
        this.received += 1;
        if (staged !== undefined) {
          staged.apply(entry);
          if (staged.version >= target) promote();
        } else if (this.#view.apply(entry)) {
          this.#applied(target);
        }
      },
    });
    this.subscriptions += 1;
    const ended = new Promise<void>((resolve) => {
      this.#restartFeed = resolve;
    });
    void (async () => {
      for await (const s of messages.status()) {
        if (s.type === 'heartbeats_missed') {
          this.#restart('heartbeats missed');
          break;
        }
      }
    })();
    await Promise.race([ended, messages.closed(), this.#feed.closedSignal]);
    this.#restartFeed = undefined;
    await messages.close().catch(() => undefined);
  }

  #applied(target: number): void {
    const version = this.#view.version;
    if (version >= target) this.#markCaughtUp();
    if (this.#waiters.length > 0) {
      const ready = this.#waiters.filter((w) => w.version <= version);
      this.#waiters = this.#waiters.filter((w) => w.version > version);
      for (const w of ready) w.resolve();
    }
    this.#scheduleSave();
    this.#options.onApplied?.(version);
  }

  #markCaughtUp(): void {
    if (this.#caughtUp) return;
    this.#caughtUp = true;
    // performance.now() counts from the process start: what a cold edge's start-up costs, split in two.
    const now = performance.now();
    this.#options.log?.('store loaded', {
      storeId: this.storeId,
      version: this.#view.version,
      keys: this.#view.itemCount,
      loadMs: Math.round(now - this.#followedAt),
      sinceProcessStartMs: Math.round(now),
    });
    for (const w of this.#caughtUpWaiters.splice(0)) w();
  }

  #scheduleSave(): void {
    if (this.#options.stateFile === undefined || this.#saveTimer !== undefined) return;
    this.#saveTimer = setTimeout(() => {
      this.#saveTimer = undefined;
      this.#flush();
    }, this.#options.saveDelayMs ?? 100);
    this.#saveTimer.unref();
  }

  #flush(): void {
    if (this.#saveTimer !== undefined) {
      clearTimeout(this.#saveTimer);
      this.#saveTimer = undefined;
    }
    const file = this.#options.stateFile;
    if (file === undefined || (!this.#view.hasChanges && !this.#fullRewrite)) return;
    const changes = this.#view.takeChanges();
    if (this.#fullRewrite) {
      changes.keys = undefined;
      this.#fullRewrite = false;
    }
    try {
      file.saveStore(this.#view, this.#streamCreated, changes);
    } catch (err) {
      // The file is a cache: serving goes on; the next save rewrites it whole.
      this.#fullRewrite = true;
      this.#options.log?.('store snapshot could not be saved', { storeId: this.storeId, error: err instanceof Error ? err.message : String(err) });
    }
  }
}
