/**
 * The fleet backend: the control state in NATS JetStream (docs/fleet.md, "State in JetStream"). Several control
 * processes may run against the same NATS at once; they share nothing but the buckets and streams, and every write
 * is conditional on what it read, so racing writers get exactly one winner.
 *
 * Loaded lazily by the control role only: `openfront start` never imports this module or the NATS client.
 */
import { auditOwnershipFields } from '../ownership.js';
import { randomInt } from 'node:crypto';
import { openFrontError } from '../../errors.js';
import { SECRET_KEY_ENV, SecretBox } from '../../kvs/secret-box.js';
import { assertRetention, DEFAULT_HISTORY_RETENTION, type HistoryRetention } from '../../kvs/history.js';
import type { KvsLimits } from '../../kvs/types.js';
import type { FunctionRegistryOptions } from '../functions.js';
import type { NodeState } from '../types.js';
import { JetStreamAccessKeyState } from './access-key-state.js';
import { JetStreamAuditState } from './audit-state.js';
import { Buckets, readJson, SETTINGS_BUCKET, writeJson, type JetStreamContext } from './buckets.js';
import type { NatsConnectionHandle } from './connection.js';
import { JetStreamFunctionState } from './function-state.js';
import { StoreDataWriter } from './kv-data/index.js';
import { JetStreamStoreState, type OpenStoreData } from './store-state.js';

export interface JetStreamStateOptions {
  conn: NatsConnectionHandle;
  /** Seals access-key secrets; every control process of a fleet must be given the same key. */
  secretKey: Buffer;
  limits: KvsLimits;
  /** Stream replicas of the buckets and streams created (default 1; 3 on an R3 cluster). */
  replicas?: number;
  functions?: FunctionRegistryOptions;
  now?: () => Date;
  /** Where store data lives; the store-data writer of `kv-data/` by default. */
  openData?: OpenStoreData;
  /** How long store history is kept (docs/kvs-storage.md); 30 days and at least 1,000 versions by default. */
  history?: HistoryRetention;
  /** Close the connection with the state (default true). */
  ownsConnection?: boolean;
}

export interface JetStreamState extends NodeState {
  readonly stores: JetStreamStoreState;
  readonly functions: JetStreamFunctionState;
  readonly conn: NatsConnectionHandle;
}

/**
 * The state interfaces over JetStream. Reads the fleet's account id (made by the first control process) and checks
 * the secret key against the one the fleet's access keys were sealed with: a control given another key refuses to
 * start instead of refusing every signature.
 */
export async function openJetStreamState(options: JetStreamStateOptions): Promise<JetStreamState> {
  const ctx: JetStreamContext = { conn: options.conn, replicas: options.replicas ?? 1, now: options.now ?? (() => new Date()) };
  const buckets = new Buckets(ctx);
  const settings = await buckets.get(SETTINGS_BUCKET);
  const accountId = await settingOnce(ctx, settings, 'account_id', () => String(randomInt(0, 1e12)).padStart(12, '0'));
  const secrets = new SecretBox(options.secretKey);
  const check = await settingOnce(ctx, settings, 'secret_key_check', () => secrets.check);
  if (!secrets.matches(check)) {
    throw openFrontError(
      'CONFIG_INVALID',
      `The access keys in NATS ${options.conn.url} were sealed with another secret key: give this control process the fleet's key (--secret-key-file or ${SECRET_KEY_ENV})`,
    );
  }
  const openData: OpenStoreData = options.openData ?? ((storeId, o) => StoreDataWriter.open(options.conn, storeId, o));
  const audit = new JetStreamAuditState(ctx);
  const stores = new JetStreamStoreState(ctx, buckets, audit, {
    accountId,
    limits: options.limits,
    openData,
    history: assertRetention(options.history ?? DEFAULT_HISTORY_RETENTION),
  });
  const functions = new JetStreamFunctionState(ctx, buckets, stores, audit, options.functions);
  stores.setStoreInUseCheck(async (storeId) => (await functions.functionsUsingStore(storeId, undefined)) > 0);
  // perms (issue 15): records of writes carry the owner and labels of what they wrote. A lookup that fails leaves
  // them out rather than losing the record of a write that has already committed.
  audit.addEnricher(async (record) => {
    const ownership =
      record.storeName !== undefined
        ? await stores.ownershipOf(record.storeName).catch(() => undefined)
        : record.functionName !== undefined
          ? await functions.ownershipOf(record.functionName).catch(() => undefined)
          : undefined;
    return auditOwnershipFields(record.operation, ownership);
  });
  return {
    backend: 'jetstream',
    conn: options.conn,
    stores,
    functions,
    accessKeys: new JetStreamAccessKeyState(ctx, buckets, secrets, audit),
    audit,
    close: async () => {
      if (options.ownsConnection !== false) await options.conn.close();
    },
  };
}

/** A fleet-wide setting: the first writer's value wins, every later one reads it. */
async function settingOnce(ctx: JetStreamContext, kv: Awaited<ReturnType<Buckets['get']>>, key: string, make: () => string): Promise<string> {
  const existing = await readJson<{ value: string }>(ctx.conn, kv, key);
  if (existing !== undefined) return existing.value.value;
  if ((await writeJson(ctx.conn, kv, key, { value: make() }, undefined)) === undefined) {
    const raced = await readJson<{ value: string }>(ctx.conn, kv, key);
    if (raced !== undefined) return raced.value.value;
  }
  const stored = await readJson<{ value: string }>(ctx.conn, kv, key);
  return stored!.value.value;
}
