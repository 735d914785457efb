/**
 * Makes the stores a config declares exist in the KeyValueStore database, seeding new ones from their seed file.
 * A store that already exists keeps its data: the seed is only the starting point, later writes win. Seeding writes
 * through the same `KvsDatabase` interface the control plane uses, as actor `config`.
 */
import type { EdgeConfig } from '../config/types.js';
import type { StoreResolver } from '../edge/function-source.js';
import type { KvsDatabase } from '../kvs/database.js';
import { readImportFile } from '../kvs/import-export.js';
import type { ReplicaSet } from '../kvs/replica.js';

const CONFIG_ACTOR = { accessKeyId: 'config' };

/** Creates missing stores (with their seed data); returns the names of the stores it created. */
export async function ensureConfigStores(config: EdgeConfig, db: KvsDatabase): Promise<string[]> {
  const created: string[] = [];
  for (const store of config.stores) {
    if (db.getStore({ name: store.name }) !== undefined) continue;
    const importItems = store.seedPath === undefined ? undefined : await readImportFile(store.seedPath, { limits: db.limits });
    db.createStore({ name: store.name, comment: 'declared in the OpenFront config', importItems }, CONFIG_ACTOR);
    created.push(store.name);
  }
  return created;
}

/** Resolves config store names to the database's store ids and the in-process replicas of them. */
export function replicaStoreResolver(db: KvsDatabase, replicas: ReplicaSet): StoreResolver {
  return (name) => {
    const record = db.getStore({ name });
    return record === undefined ? undefined : { id: record.id, source: replicas.get(record.id) };
  };
}
