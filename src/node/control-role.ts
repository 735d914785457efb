/**
 * `openfront control --nats <url>`: the whole API (CloudFront REST-XML, the KVS data plane, the native JSON API) on
 * the JetStream state, with no local state of its own, so several control processes may serve one fleet at once
 * (docs/fleet.md). `--config` seeds stores and functions as `start` does; a second control with the same config
 * finds them made and changes nothing.
 *
 * This module imports the NATS client: the CLI loads it lazily, so `openfront start` never does.
 */
import type { EdgeConfig } from '../config/types.js';
import { startApiServer, type ApiServer } from '../control/api-server.js';
import { functionRouteGroup, type StoreReader } from '../control/functions/index.js';
import type { Probes } from '../control/http/probes.js';
import { openFrontError } from '../errors.js';
import { DEFAULT_KVS_LIMITS, UNLIMITED_KVS_LIMITS } from '../kvs/limits.js';
import { MapSnapshot } from '../kvs/snapshot.js';
import type { KvsLimits } from '../kvs/types.js';
import type { HistoryRetention } from '../kvs/history.js';
import { JetStreamPropagationView } from '../observe/propagation-jetstream.js';
import { connectNats, type NatsConnectionHandle } from '../state/jetstream/connection.js';
import { openJetStreamState, type JetStreamState } from '../state/jetstream/index.js';
import type { RunLimits } from '../control/functions/index.js';
import type { ApiLimits } from '../control/http/limits.js';
import type { FunctionRegistryOptions } from '../state/functions.js';
import type { RuntimeLimits } from '../runtime/types.js';
import { functionsUsedByConfig, syncConfigFunctions, type ConfigFunctionChange } from './seed-functions.js';
import { ensureConfigStores } from './seed-stores.js';

export interface ControlRoleOptions {
  /** NATS server url(s) of the fleet. */
  nats: string | string[];
  /** Seals access-key secrets; the same for every control process of the fleet. */
  secretKey: Buffer;
  config?: EdgeConfig;
  api?: { host?: string; port?: number; insecureNoAuth?: boolean; importDir?: string; limits?: Partial<ApiLimits> };
  /** Stream replicas of what this control creates (default 1; 3 on an R3 cluster). */
  natsReplicas?: number;
  kvsLimits?: KvsLimits;
  /** Store history retention; overrides the config's `kvs.history` (docs/kvs-storage.md). */
  historyRetention?: HistoryRetention;
  runtimeLimits?: Partial<RuntimeLimits>;
  testRuns?: Partial<RunLimits>;
  /** The function registry's bounds (the account's function quota, code size), as `start`'s registry takes them. */
  functions?: Pick<FunctionRegistryOptions, 'maxFunctions' | 'maxCodeBytes'>;
  /** The client name NATS shows for this process. */
  name?: string;
}

export interface ControlRole {
  api: ApiServer;
  state: JetStreamState;
  seeded: { stores: string[]; functions: ConfigFunctionChange[] };
  probes: Probes;
  close(): Promise<void>;
}

/** Opens the fleet's state in NATS (for the role and for `openfront keys --nats`). */
export async function openFleetState(options: {
  nats: string | string[];
  secretKey: Buffer;
  natsReplicas?: number;
  kvsLimits?: KvsLimits;
  historyRetention?: HistoryRetention;
  name?: string;
  isFunctionInUse?: (name: string) => boolean;
  functions?: Pick<FunctionRegistryOptions, 'maxFunctions' | 'maxCodeBytes'>;
  /** Give up when no server answers within this time (a one-shot CLI command); default: wait as long as it takes. */
  connectTimeoutMs?: number;
}): Promise<JetStreamState> {
  const replicas = options.natsReplicas ?? 1;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5) throw openFrontError('CONFIG_INVALID', `--nats-replicas must be 1 to 5, got ${replicas}`);
  const connecting = connectNats(options.nats, { name: options.name ?? 'openfront-control' });
  let conn: NatsConnectionHandle;
  if (options.connectTimeoutMs === undefined) conn = await connecting;
  else {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        // Whatever connects later is closed at once.
        void connecting.then((late) => late.close()).catch(() => undefined);
        reject(
          openFrontError('STATE_UNAVAILABLE', `No NATS server answered at ${String(options.nats)} within ${options.connectTimeoutMs} ms`, {
            url: String(options.nats),
          }),
        );
      }, options.connectTimeoutMs);
    });
    try {
      conn = await Promise.race([connecting, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
  try {
    return await openJetStreamState({
      conn,
      secretKey: options.secretKey,
      limits: options.kvsLimits ?? DEFAULT_KVS_LIMITS,
      replicas,
      functions: { ...options.functions, isFunctionInUse: options.isFunctionInUse },
      ...(options.historyRetention === undefined ? {} : { history: options.historyRetention }),
    });
  } catch (err) {
    await conn.close();
    throw err;
  }
}

export async function startControlRole(options: ControlRoleOptions): Promise<ControlRole> {
  const limits = options.kvsLimits ?? (options.config?.kvsLimits === 'unlimited' ? UNLIMITED_KVS_LIMITS : DEFAULT_KVS_LIMITS);
  const inUse = options.config === undefined ? new Set<string>() : functionsUsedByConfig(options.config);
  const historyRetention = options.historyRetention ?? options.config?.kvsHistory;
  const state = await openFleetState({ ...options, kvsLimits: limits, historyRetention, isFunctionInUse: (name) => inUse.has(name) });
  const closers: Array<() => Promise<void>> = [() => state.close()];
  const close = async () => {
    for (const step of closers.reverse()) await step();
  };
  try {
    const seeded = { stores: [] as string[], functions: [] as ConfigFunctionChange[] };
    if (options.config !== undefined) {
      seeded.stores = await ensureConfigStores(options.config, state.stores);
      seeded.functions = await syncConfigFunctions(options.config, state.functions, state.stores);
    }
    const probes: Probes = {
      healthz: () => ({ ok: true, checks: { process: 'up' } }),
      readyz: () => {
        const nats = state.conn.isConnected() ? 'ok' : `not connected to ${state.conn.url}`;
        return { ok: nats === 'ok', checks: { nats } };
      },
    };
    // Which edge serves which version (of_edges): the propagation routes and ?wait=all (docs/fleet.md).
    const propagation = await JetStreamPropagationView.open(state.conn.kvm, { replicas: options.natsReplicas });
    closers.push(async () => propagation.close());
    const api = await startApiServer({
      state,
      propagation,
      host: options.api?.host,
      port: options.api?.port,
      auth: { insecureNoAuth: options.api?.insecureNoAuth ?? false },
      importDir: options.api?.importDir ?? options.config?.kvsImportDir,
      limits: { ...options.config?.apiLimits, ...options.api?.limits },
      routes: [
        // No invalidation route: a control process has no edge cache of its own.
        functionRouteGroup(state.functions, snapshotReader(state), { limits: options.runtimeLimits, testRuns: options.testRuns }),
      ],
      probes,
    });
    closers.push(() => api.close());
    return { api, state, seeded, probes, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** TestFunction in a control process: the associated store as it is now, read once for the run. */
function snapshotReader(state: JetStreamState): StoreReader {
  return {
    async get(storeId) {
      const store = await state.stores.getStore({ id: storeId });
      const items = await state.stores.exportData(storeId);
      const snapshot = new MapSnapshot(new Map(items.map((i) => [i.key, i.value])), {
        id: storeId,
        version: store?.version ?? 0,
        created: store?.created,
        updated: store?.lastModified,
      });
      return { snapshot: () => snapshot };
    },
  };
}

/** What a started control process prints. */
export function describeControl(role: ControlRole): string {
  const lines = [`OpenFront control is running on NATS ${role.state.conn.url}`, `  api   ${role.api.url}`];
  for (const store of role.seeded.stores) lines.push(`  created store ${store} from the config`);
  for (const fn of role.seeded.functions) lines.push(`  ${fn.action} function ${fn.name}, LIVE version ${fn.version}`);
  return lines.join('\n');
}
