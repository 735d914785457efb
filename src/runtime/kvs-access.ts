/**
 * How `cf.kvs()` reads reach a store: the caller's `kvs` option is turned into a binding (store id → snapshot
 * source), and each invocation gets a reader that takes ONE snapshot per store on first use, so every read of an
 * invocation sees the same store version. Every read is recorded for the decision trace.
 */
import { MapSnapshot, type KvsSnapshot, type KvsSnapshotSource } from '../kvs/snapshot.js';
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

/** Normalises every accepted form of the `kvs` option into a binding. */
export function toKvsBinding(input: KvsInput | undefined): KvsBinding {
  if (input === undefined) return EMPTY_BINDING;
  if (isBinding(input)) return input;
  if (isSource(input)) {
    const id = input.snapshot().id;
    return { defaultStoreId: id, stores: new Map([[id, input]]) };
  }
  const snapshot = isSnapshot(input) ? input : new MapSnapshot(input as Record<string, string>);
  return { defaultStoreId: snapshot.id, stores: new Map([[snapshot.id, { snapshot: () => snapshot }]]) };
}

/** Per-invocation reader; `read` has the shape of the sandbox's KVS host callback. */
export class InvocationKvsReader {
  readonly reads: KvsRead[] = [];
  readonly #binding: KvsBinding;
  readonly #snapshots = new Map<string, KvsSnapshot>();

  constructor(binding: KvsBinding) {
    this.#binding = binding;
  }

  read = (op: 'get' | 'exists' | 'meta', requestedId: string | null, key: string): string | undefined => {
    const snapshot = this.#snapshot(requestedId);
    switch (op) {
      case 'get': {
        const value = snapshot.get(key);
        this.reads.push({ storeId: snapshot.id, op, key, version: snapshot.version, hit: value !== undefined });
        return value;
      }
      case 'exists': {
        // The value goes back too: the isolate keeps it, so a get() of the same key needs no second crossing.
        const value = snapshot.get(key);
        this.reads.push({ storeId: snapshot.id, op, key, version: snapshot.version, hit: value !== undefined });
        return value;
      }
      case 'meta':
        this.reads.push({ storeId: snapshot.id, op, version: snapshot.version, hit: true });
        return JSON.stringify(snapshot.meta());
    }
  };

  #snapshot(requestedId: string | null): KvsSnapshot {
    const id = requestedId ?? this.#binding.defaultStoreId;
    if (id === undefined) throw new Error('No KeyValueStore is associated with this function');
    let snapshot = this.#snapshots.get(id);
    if (!snapshot) {
      const source = this.#binding.stores.get(id);
      if (!source) throw new Error(`KeyValueStore "${id}" is not associated with this function`);
      snapshot = source.snapshot();
      this.#snapshots.set(id, snapshot);
    }
    return snapshot;
  }
}
