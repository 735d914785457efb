/**
 * Makes the stores a config declares exist in the KeyValueStore database, seeding new ones from their seed file.
 * A store that already exists keeps its data: the seed is only the starting point, later writes win. Seeding writes
 * through the same `StoreState` interface the control plane uses, as actor `config`. Several control processes of a
 * fleet may seed the same config at once: a store another one created first counts as existing.
 */
import type { EdgeConfig } from '../config/types.js';
import { isOpenFrontError, OpenFrontError } from '../errors.js';
import type { StoreResolver } from '../edge/function-source.js';
import type { KvsDatabase } from '../kvs/database.js';
import { readImportFile } from '../kvs/import-export.js';
import type { ReplicaSet } from '../kvs/replica.js';
import type { StoreState } from '../state/types.js';

const CONFIG_ACTOR = { accessKeyId: 'config' };

/** Creates missing stores (with their seed data); returns the names of the stores it created. */
export async function ensureConfigStores(config: EdgeConfig, stores: StoreState): Promise<string[]> {
  const created: string[] = [];
  for (const store of config.stores) {
    const existing = await stores.getStore({ name: store.name });
    if (existing !== undefined) {
      if (store.awsId !== undefined && existing.id !== store.awsId) throw awsIdMismatch(store.name, store.awsId, existing.id);
      continue;
    }
    const importItems = store.seedPath === undefined ? undefined : await readImportFile(store.seedPath, { limits: stores.limits });
    try {
      await stores.createStore({ name: store.name, comment: 'declared in the OpenFront config', importItems, id: store.awsId }, CONFIG_ACTOR);
    } catch (err) {
      // Another control process seeding the same config got there first: its store is the one declared.
      const raced = isOpenFrontError(err) && err.code === 'CF_ENTITY_ALREADY_EXISTS' ? await stores.getStore({ name: store.name }) : undefined;
      if (raced === undefined) throw err;
      if (store.awsId !== undefined && raced.id !== store.awsId) throw awsIdMismatch(store.name, store.awsId, raced.id);
      continue;
    }
    created.push(store.name);
  }
  return created;
}

/** A store keeps the id it was created with: an awsId added later cannot be given to the existing store. */
function awsIdMismatch(name: string, awsId: string, id: string): OpenFrontError {
  return new OpenFrontError(
    'CONFIG_INVALID',
    `store ${name}: awsId ${awsId} was given, but the store already exists with id ${id}. A store gets its id when it is created: ` +
      `delete it (openfront kvs delete ${name}, or remove the data directory) so that it is created again with the awsId, or remove awsId`,
    { store: name, awsId, id },
  );
}

/** Resolves config store names to the database's store ids and the in-process replicas of them. */
export function replicaStoreResolver(db: KvsDatabase, replicas: ReplicaSet): StoreResolver {
  return (name) => {
    const record = db.getStore({ name });
    return record === undefined ? undefined : { id: record.id, source: replicas.get(record.id) };
  };
}
