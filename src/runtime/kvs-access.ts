/**
 * How `cf.kvs()` reads reach a store: the caller's `kvs` option is turned into a binding (store id → snapshot
 * source), and each invocation gets a reader that holds ONE snapshot per store, so every read of an invocation
 * sees the same store version. The function's own store is snapshotted when the invocation starts, and the
 * snapshot's identity becomes a token that lets the isolate keep values between invocations while it is unchanged.
 */
import { errorForFunction } from '../errors.js';
import { MapSnapshot, type KvsSnapshot, type KvsSnapshotSource } from '../kvs/snapshot.js';
import type { RawReads } from './sandbox/outcome-wire.js';
import type { KvsBinding, KvsInput, KvsRead } from './types.js';

const EMPTY_BINDING: KvsBinding = { stores: new Map() };

function isBinding(input: KvsInput): input is KvsBinding {
  return typeof input === 'object' && input !== null && (input as KvsBinding).stores instanceof Map;
}

function isSource(input: KvsInput): input is KvsSnapshotSource {
  return typeof (input as KvsSnapshotSource).snapshot === 'function';
}

function isSnapshot(input: KvsInput): input is KvsSnapshot {
  const candidate = input as KvsSnapshot;
  return typeof candidate.get === 'function' && typeof candidate.has === 'function' && typeof candidate.meta === 'function';
}

/**
 * Normalises every accepted form of the `kvs` option into a binding. A single source, snapshot or plain object is
 * data without an id of its own, so it answers to any id the code names (see {@link KvsBinding.anyId}); pass a
 * binding to have ids checked.
 */
export function toKvsBinding(input: KvsInput | undefined): KvsBinding {
  if (input === undefined) return EMPTY_BINDING;
  if (isBinding(input)) return input;
  if (isSource(input)) {
    const id = input.snapshot().id;
    return { defaultStoreId: id, stores: new Map([[id, input]]), anyId: true };
  }
  const snapshot = isSnapshot(input) ? input : new MapSnapshot(input as Record<string, string>);
  return { defaultStoreId: snapshot.id, stores: new Map([[snapshot.id, { snapshot: () => snapshot }]]), anyId: true };
}

/** `arn:<partition>:cloudfront::<account>:key-value-store/<id>`: the form AWS shows next to the id. */
const STORE_ARN = /^arn:[a-z-]+:cloudfront::\d{12}:key-value-store\/([^/]+)$/;

/** The id inside a KeyValueStore ARN, or the text itself when it is not one. */
export function storeIdOf(idOrArn: string): string {
  return STORE_ARN.exec(idOrArn)?.[1] ?? idOrArn;
}

/**
 * The store `cf.kvs(requested)` opens in `binding`: the default store for no argument; the store with that id (or
 * the id inside that ARN, any account: a store brought from AWS keeps its id, not its account); else the default
 * store when the binding answers to any id. Undefined when nothing matches. Ids compare case-insensitively, like
 * the hex they are.
 */
export function resolveStoreId(binding: KvsBinding, requested: string | null): string | undefined {
  if (requested === null) return binding.defaultStoreId;
  if (binding.stores.has(requested)) return requested;
  const wanted = storeIdOf(requested).toLowerCase();
  for (const id of binding.stores.keys()) if (id.toLowerCase() === wanted) return id;
  return binding.anyId === true ? binding.defaultStoreId : undefined;
}

/** Snapshots are immutable; one token per snapshot object (a replica hands out one object per version). */
const tokens = new WeakMap<KvsSnapshot, number>();
let lastToken = 0;

function tokenOf(snapshot: KvsSnapshot): number {
  let token = tokens.get(snapshot);
  if (token === undefined) {
    token = ++lastToken;
    tokens.set(snapshot, token);
  }
  return token;
}

/** Per-invocation reader; `read` has the shape of the sandbox's KVS host callback. */
export class InvocationKvsReader {
  /** Token of the function's own store snapshot (0 when no store is associated). */
  readonly token: number;
  readonly #binding: KvsBinding;
  readonly #snapshots = new Map<string, KvsSnapshot>();

  constructor(binding: KvsBinding) {
    this.#binding = binding;
    const id = binding.defaultStoreId;
    const source = id === undefined ? undefined : binding.stores.get(id);
    if (id !== undefined && source !== undefined) {
      const snapshot = source.snapshot();
      this.#snapshots.set(id, snapshot);
      this.token = tokenOf(snapshot);
    } else {
      this.token = 0;
    }
  }

  read = (op: 'get' | 'exists' | 'meta', requestedId: string | null, key: string): string | undefined => {
    const snapshot = this.#snapshot(requestedId);
    return op === 'meta' ? JSON.stringify(snapshot.meta()) : snapshot.get(key);
  };

  /** The reads the isolate logged, with the store and version each one saw, for the decision trace. */
  describe(raw: RawReads | undefined): KvsRead[] {
    const reads: KvsRead[] = [];
    if (raw === undefined) return reads;
    for (let i = 0; i + 3 < raw.length; i += 4) {
      const requestedId = raw[i + 1] as string | null;
      const snapshot = this.#snapshot(requestedId);
      const read: KvsRead = { storeId: snapshot.id, op: raw[i] as KvsRead['op'], version: snapshot.version, hit: raw[i + 3] as boolean };
      // Only worth a field when the code named the store by something other than its id (an ARN, another case, or
      // any id answered by data that has none).
      if (requestedId !== null && requestedId !== snapshot.id) read.requestedId = requestedId;
      const key = raw[i + 2];
      if (typeof key === 'string') read.key = key;
      reads.push(read);
    }
    return reads;
  }

  #snapshot(requestedId: string | null): KvsSnapshot {
    if (this.#binding.defaultStoreId === undefined && this.#binding.stores.size === 0)
      throw errorForFunction('No KeyValueStore is associated with this function');
    const id = resolveStoreId(this.#binding, requestedId);
    if (id === undefined) throw errorForFunction(`KeyValueStore "${requestedId}" is not associated with this function`);
    let snapshot = this.#snapshots.get(id);
    if (!snapshot) {
      const source = this.#binding.stores.get(id);
      if (!source) throw errorForFunction(`KeyValueStore "${id}" is not associated with this function`);
      snapshot = source.snapshot();
      this.#snapshots.set(id, snapshot);
    }
    return snapshot;
  }
}
