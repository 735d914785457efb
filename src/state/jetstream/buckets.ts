/**
 * The control state's places in JetStream (docs/fleet.md, "State in JetStream"): one KV bucket per kind of record,
 * created on first use by whichever control process writes first (creating an existing bucket with the same
 * settings just opens it), and JSON values whose updates are conditional on the KV revision they were read at.
 */
import type { KV } from '@nats-io/kv';
import { isOpenFrontError } from '../../errors.js';
import { mapUnavailable, type NatsConnectionHandle } from './connection.js';

export const STORES_BUCKET = 'of_stores';
export const FUNCTIONS_BUCKET = 'of_functions';
export const FUNCTION_VERSIONS_BUCKET = 'of_function_versions';
export const ACCESS_KEYS_BUCKET = 'of_access_keys';
/** Fleet-wide settings that must agree between control processes (the account id of ARNs). */
export const SETTINGS_BUCKET = 'of_settings';
export const AUDIT_STREAM = 'OF_AUDIT';
export const AUDIT_SUBJECTS = 'of.audit.>';

/** JetStream's "wrong last sequence" API error: a conditional write lost to another writer. */
const WRONG_LAST_SEQUENCE = 10071;

/** A JSON record and the KV revision it was read at (the If-Match of its next update). */
export interface Revisioned<T> {
  value: T;
  revision: number;
}

/** What the JetStream backends share: the connection and the replicas of the buckets they create. */
export interface JetStreamContext {
  conn: NatsConnectionHandle;
  /** Stream replicas for buckets created now (1 on one server, 3 on an R3 cluster). */
  replicas: number;
  now: () => Date;
}

/** Opens the buckets lazily, once per process; a failed open is retried on the next call. */
export class Buckets {
  readonly #ctx: JetStreamContext;
  readonly #open = new Map<string, Promise<KV>>();

  constructor(ctx: JetStreamContext) {
    this.#ctx = ctx;
  }

  get(name: string): Promise<KV> {
    let bucket = this.#open.get(name);
    if (bucket === undefined) {
      this.#ctx.conn.assertConnected();
      bucket = this.#ctx.conn.kvm.create(name, { history: 1, replicas: this.#ctx.replicas }).catch((err: unknown) => {
        this.#open.delete(name);
        throw mapUnavailable(err, this.#ctx.conn.url);
      });
      this.#open.set(name, bucket);
    }
    return bucket;
  }
}

/** Runs a NATS call, turning "no server answered" into STATE_UNAVAILABLE; checks the connection first. */
export async function natsCall<T>(conn: NatsConnectionHandle, call: () => Promise<T>): Promise<T> {
  conn.assertConnected();
  try {
    return await call();
  } catch (err) {
    throw mapUnavailable(err, conn.url);
  }
}

/** The JSON value of `key`, or undefined when it is absent or deleted. */
export async function readJson<T>(conn: NatsConnectionHandle, kv: KV, key: string): Promise<Revisioned<T> | undefined> {
  const entry = await natsCall(conn, () => kv.get(key));
  if (entry === null || entry.operation !== 'PUT' || entry.length === 0) return undefined;
  return { value: entry.json<T>(), revision: entry.revision };
}

/** Every live key of a bucket. */
export async function listKeys(conn: NatsConnectionHandle, kv: KV): Promise<string[]> {
  return natsCall(conn, async () => {
    const keys: string[] = [];
    for await (const key of await kv.keys()) keys.push(key);
    return keys;
  });
}

/**
 * Writes `value` at `key` if it is still at `revision` (undefined: only if absent). Returns the new revision, or
 * undefined when another writer got there first.
 */
export async function writeJson(conn: NatsConnectionHandle, kv: KV, key: string, value: unknown, revision: number | undefined): Promise<number | undefined> {
  const data = JSON.stringify(value);
  conn.assertConnected();
  try {
    return revision === undefined ? await kv.create(key, data) : await kv.update(key, data, revision);
  } catch (err) {
    if (isConflict(err)) return undefined;
    throw mapUnavailable(err, conn.url);
  }
}

/** Deletes `key` if it is still at `revision`; false when another writer moved it first. */
export async function deleteIfAt(conn: NatsConnectionHandle, kv: KV, key: string, revision: number): Promise<boolean> {
  conn.assertConnected();
  try {
    await kv.delete(key, { previousSeq: revision });
    return true;
  } catch (err) {
    if (isConflict(err)) return false;
    throw mapUnavailable(err, conn.url);
  }
}

/** A conditional KV write refused because the key moved (or, for create, exists). */
export function isConflict(err: unknown): boolean {
  if (isOpenFrontError(err)) return false;
  const e = err as { code?: number | string; message?: string; apiError?: () => { err_code?: number } };
  if (e?.code === WRONG_LAST_SEQUENCE) return true;
  try {
    if (typeof e?.apiError === 'function' && e.apiError().err_code === WRONG_LAST_SEQUENCE) return true;
  } catch {
    // not an API error
  }
  return /wrong last sequence|key exists/i.test(String(e?.message));
}
