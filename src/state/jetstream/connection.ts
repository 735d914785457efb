/**
 * One NATS connection per fleet process, set up the way fleet mode needs it (docs/fleet.md):
 *
 * - it never gives up reconnecting (`maxReconnectAttempts: -1`, the client's default of 10 would leave an edge
 *   deaf after ~20 s of outage) and waits for the first connect, so a role can start before NATS does;
 * - a JetStream publish made while the client is disconnected is not stored, it only times out, so writers call
 *   {@link NatsConnectionHandle.assertConnected} first and fail at once with `STATE_UNAVAILABLE` (HTTP 503);
 * - publishes and API calls time out after 2 s instead of 5 s; a timeout is mapped to `STATE_UNAVAILABLE` too.
 *
 * The NATS modules are imported lazily by the fleet roles only: `openfront start` never loads them.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { isOpenFrontError, OpenFrontError } from '../../errors.js';

/** How long a JetStream publish or API request waits for its answer before it is reported as unavailable. */
export const PUBLISH_TIMEOUT_MS = 2000;
/** Between two reconnect attempts: short, so a restarted server is found again within a fraction of a second. */
export const RECONNECT_TIME_WAIT_MS = 250;

export interface ConnectNatsOptions {
  /** The client name the server shows in its connection list (the role and node name). */
  name: string;
  /** Overrides {@link PUBLISH_TIMEOUT_MS} (tests). */
  timeoutMs?: number;
}

export type ConnectionEvent = 'disconnect' | 'reconnect';

export interface NatsConnectionHandle {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly kvm: Kvm;
  /** The server url(s) as given, for messages. */
  readonly url: string;
  /** The publish / request timeout in force. */
  readonly timeoutMs: number;
  /** True while the client has a live connection to a server. */
  isConnected(): boolean;
  /** Throws `STATE_UNAVAILABLE` when the client is disconnected (reconnecting) or closed. */
  assertConnected(): void;
  /** Calls `listener` on every disconnect and reconnect; returns the function that unsubscribes it. */
  onConnectionChange(listener: (event: ConnectionEvent) => void): () => void;
  /** Resolves once the client is connected (at once when it is). */
  whenConnected(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Connects to NATS (a url or several urls of one cluster; `nats://` may be omitted). Resolves once connected: with
 * `waitOnFirstConnect` this waits for a server that is not up yet, so callers that must work without NATS (the edge)
 * do not await it before serving.
 */
export async function connectNats(servers: string | string[], options: ConnectNatsOptions): Promise<NatsConnectionHandle> {
  const list = (Array.isArray(servers) ? servers : servers.split(',')).map((s) => s.trim()).filter((s) => s.length > 0);
  const url = list.join(',');
  const timeoutMs = options.timeoutMs ?? PUBLISH_TIMEOUT_MS;
  const nc = await connect({
    servers: list,
    name: options.name,
    maxReconnectAttempts: -1,
    waitOnFirstConnect: true,
    reconnectTimeWait: RECONNECT_TIME_WAIT_MS,
    reconnectJitter: 50,
    timeout: timeoutMs,
    // Ping often enough that a silently dead link (a cut proxy, a frozen server) is noticed within seconds.
    pingInterval: 2000,
    maxPingOut: 2,
  });
  const js = jetstream(nc, { timeout: timeoutMs });
  const jsm = await jetstreamManager(nc, { timeout: timeoutMs, checkAPI: false });
  const kvm = new Kvm(js);

  let connected = true;
  const listeners = new Set<(event: ConnectionEvent) => void>();
  let waiters: Array<() => void> = [];
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        connected = false;
        for (const l of listeners) l('disconnect');
      } else if (s.type === 'reconnect') {
        connected = true;
        const ready = waiters;
        waiters = [];
        for (const w of ready) w();
        for (const l of listeners) l('reconnect');
      }
    }
  })();
  void nc.closed().then(() => {
    connected = false;
  });

  const handle: NatsConnectionHandle = {
    nc,
    js,
    jsm,
    kvm,
    url,
    timeoutMs,
    isConnected: () => connected && !nc.isClosed(),
    assertConnected() {
      if (!handle.isConnected()) throw stateUnavailable(url, 'the client is not connected');
    },
    onConnectionChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    whenConnected() {
      if (handle.isConnected()) return Promise.resolve();
      return new Promise<void>((resolve) => waiters.push(resolve));
    },
    async close() {
      listeners.clear();
      if (!nc.isClosed()) await nc.close();
    },
  };
  return handle;
}

/** The catalog error for "NATS cannot serve this now", naming the server url. */
export function stateUnavailable(url: string, reason: string, cause?: unknown): OpenFrontError {
  return new OpenFrontError('STATE_UNAVAILABLE', `The state service at NATS ${url} is unavailable (${reason}); retry later`, { url, reason }, { cause });
}

/** Errors of the NATS client that mean "no server answered" rather than "the server refused". */
const UNAVAILABLE_ERROR_NAMES = new Set([
  'TimeoutError',
  'NoRespondersError',
  'ClosedConnectionError',
  'DrainingConnectionError',
  'ConnectionError',
  'RequestError',
  'JetStreamNotEnabled',
]);

/** True when `err` (from the NATS client) says the server could not be reached or did not answer in time. */
export function isUnavailableError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { name, message } = err as { name?: unknown; message?: unknown };
  if (typeof name === 'string' && UNAVAILABLE_ERROR_NAMES.has(name)) return true;
  // 2.9 answers "jetstream is not enabled" or a 503 status while a stream has no leader (an election).
  return typeof message === 'string' && /timeout|no responders|jetstream is not enabled|503/i.test(message);
}

/** Rethrows `err` as `STATE_UNAVAILABLE` when it is an availability failure; returns it untouched otherwise. */
export function mapUnavailable(err: unknown, url: string): unknown {
  if (isOpenFrontError(err)) return err;
  if (isUnavailableError(err)) return stateUnavailable(url, err instanceof Error ? err.message : String(err), err);
  return err;
}
