/**
 * `openfront edge`: one edge of a fleet (docs/fleet-edge.md). It serves the config's distributions with the existing edge
 * server; the LIVE functions and the stores they read come from NATS JetStream, written by the control role. What
 * it serves is also kept in `--state-dir`, so an edge starts and serves with NATS unreachable, and catches up from
 * where it was once NATS answers.
 *
 * This module loads the NATS client; only the fleet roles import it (lazily), so `openfront start` never does.
 */
import { join } from 'node:path';
import type { EdgeConfig } from '../config/types.js';
import { startEdge, type EdgeServer } from '../edge/index.js';
import type { EdgeReconfigureResult } from '../edge/edge-server.js';
import { openFrontError } from '../errors.js';
import { startEdgeReporting } from '../observe/propagation-jetstream.js';
import type { EdgeReporter } from '../observe/propagation-report.js';
import type { RuntimeLimits } from '../runtime/types.js';
import { connectNats, type NatsConnectionHandle } from '../state/jetstream/connection.js';
import { JetStreamStoreReplica } from '../state/jetstream/kv-data/replica.js';
import { EdgeStateFile } from '../state/jetstream/kv-data/snapshot-file.js';
import { FleetLiveFunctions } from './edge-role-functions.js';

/** Edge names as the fleet reports them (`of_edges` keys). */
export const EDGE_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

export interface EdgeRoleOptions {
  /** NATS url(s), comma-separated for a cluster. */
  nats: string;
  config: EdgeConfig;
  /** This edge's name in the fleet. */
  name: string;
  /** Where the snapshot of stores and functions is kept. */
  stateDir: string;
  host?: string;
  /** Defaults to the config's `server.port`; 0 picks a free port. */
  port?: number;
  runtimeLimits?: Partial<RuntimeLimits>;
  /** Operator log lines (default: none). */
  log?: (message: string, detail?: Record<string, unknown>) => void;
}

/** The versions an edge serves, as the fleet's edge reports carry them. */
export interface EdgeVersions {
  stores: Record<string, { version: number; appliedAt: string }>;
  functions: Record<string, { version: number; appliedAt: string }>;
}

export interface EdgeRole {
  readonly name: string;
  readonly edge: EdgeServer;
  readonly functions: FleetLiveFunctions;
  /** The replica of `storeId` (created and following NATS on first use). */
  replica(storeId: string): JetStreamStoreReplica;
  /** What this edge serves now. */
  versions(): EdgeVersions;
  /** Calls `listener` after each change applied (a store message, a LIVE move). */
  onApplied(listener: () => void): () => void;
  /** Resolves with the NATS connection once the first connect succeeded. */
  connected(): Promise<NatsConnectionHandle>;
  /** True while the edge has a live connection to NATS (it serves its last data either way). */
  natsConnected(): boolean;
  /** The config served now (the one given at start, or the last one reloaded). */
  config(): EdgeConfig;
  /** Serves `config` from now on, on the same sockets (SIGHUP); what needs a restart comes back in `restartNeeded`. */
  reconfigure(config: EdgeConfig): EdgeReconfigureResult;
  /** Graceful stop: the edge drains for up to `graceMs`, then everything closes. */
  drain(graceMs: number): Promise<{ cut: number }>;
  close(): Promise<void>;
}

export async function startEdgeRole(options: EdgeRoleOptions): Promise<EdgeRole> {
  if (!EDGE_NAME.test(options.name)) throw openFrontError('CLI_USAGE', `--name must be 1-64 characters of [a-zA-Z0-9_-], got ${JSON.stringify(options.name)}`);
  const log = options.log ?? (() => undefined);
  const stateFile = new EdgeStateFile(options.stateDir);
  const replicas = new Map<string, JetStreamStoreReplica>();
  const appliedAt = new Map<string, Date>();
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const l of listeners) l();
  };
  let conn: NatsConnectionHandle | undefined;
  let reporter: EdgeReporter | undefined;
  let closed = false;
  let config = options.config;

  const replica = (storeId: string): JetStreamStoreReplica => {
    let r = replicas.get(storeId);
    if (r === undefined) {
      r = new JetStreamStoreReplica({
        storeId,
        stateFile,
        log,
        onApplied: () => {
          appliedAt.set(storeId, new Date());
          notify();
        },
      });
      replicas.set(storeId, r);
      if (conn !== undefined) r.follow(conn);
    }
    return r;
  };

  // Connecting (it waits for NATS as long as it takes) runs while the edge server starts: a cold edge's first
  // request with data waits for both, not one after the other.
  const connectStarted = performance.now();
  const natsConnection = connectNats(options.nats, { name: `openfront-edge-${options.name}` });
  const functions = new FleetLiveFunctions({ stateFile, storeSource: replica, limits: options.runtimeLimits, log, onApplied: notify });
  let edge: EdgeServer;
  try {
    edge = await startEdge({
      config: options.config,
      functions,
      host: options.host,
      port: options.port,
      cacheDir: join(options.stateDir, 'cache'),
    });
  } catch (err) {
    closed = true;
    void natsConnection.then((c) => c.close()).catch(() => undefined);
    await functions.close();
    stateFile.close();
    throw err;
  }
  log('edge serving', {
    name: options.name,
    url: edge.url,
    functions: Object.keys(functions.versions()),
    stores: [...replicas.keys()],
    sinceProcessStartMs: Math.round(performance.now()),
  });

  // The edge serves its snapshot meanwhile.
  const connecting = natsConnection.then((c) => {
    if (closed) {
      void c.close();
      return c;
    }
    conn = c;
    const now = performance.now();
    log('connected to NATS', { url: c.url, connectMs: Math.round(now - connectStarted), sinceProcessStartMs: Math.round(now) });
    for (const r of replicas.values()) r.follow(c);
    functions.follow(c);
    // The fleet sees this edge (of_edges): a report after each change applied, and a heartbeat every second.
    reporter = startEdgeReporting(c.kvm, {
      name: options.name,
      versions: () => role.versions(),
      onError: (err) => log('edge report not published', { error: err instanceof Error ? err.message : String(err) }),
    });
    listeners.add(() => reporter?.applied());
    return c;
  });
  connecting.catch((err: unknown) => log('cannot connect to NATS', { error: err instanceof Error ? err.message : String(err) }));

  const close = async () => {
    if (closed) return;
    closed = true;
    await edge.close();
    await reporter?.close();
    await functions.close();
    await Promise.all([...replicas.values()].map((r) => r.close()));
    await conn?.close();
    stateFile.close();
  };

  const role: EdgeRole = {
    name: options.name,
    edge,
    functions,
    replica,
    versions() {
      const fns = functions.versions();
      return {
        stores: Object.fromEntries([...replicas].map(([id, r]) => [id, { version: r.version, appliedAt: (appliedAt.get(id) ?? new Date(0)).toISOString() }])),
        functions: Object.fromEntries(Object.entries(fns).map(([n, f]) => [n, { version: f.version, appliedAt: f.appliedAt.toISOString() }])),
      };
    },
    onApplied(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    connected: () => connecting,
    natsConnected: () => conn?.isConnected() ?? false,
    config: () => config,
    reconfigure(next) {
      const result = edge.reconfigure(next);
      config = next;
      return result;
    },
    async drain(graceMs) {
      const drained = await edge.drain(graceMs);
      await close();
      return drained;
    },
    close,
  };
  return role;
}
