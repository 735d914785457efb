/**
 * Makes the stores a config declares exist in the KeyValueStore database, seeding new ones from their seed file.
 * A store that already exists keeps its data: the seed is only the starting point, later writes win. Seeding writes
 * through the same `StoreState` interface the control plane uses, as actor `config`. Several control processes of a
 * fleet may seed the same config at once: a store another one created first counts as existing.
 *
 * A store's `schema` (docs/safe-changes.md, "Value schemas") is the declaration: a new store is created with it (the
 * seed checked against it first, all or nothing); an existing store whose schema differs gets it, unless values it
 * already holds fail it (then the node refuses to start, naming them). A config without `schema` leaves the store's
 * schema as the API set it.
 */
import type { EdgeConfig } from '../config/types.js';
import { isOpenFrontError, OpenFrontError } from '../errors.js';
import type { StoreResolver } from '../edge/function-source.js';
import type { SqliteStores } from '../state/sqlite/stores.js';
import { readImportFile } from '../kvs/import-export.js';
import { parseValueSchema, VALUE_SCHEMA_LIMITS, type ParsedValueSchema } from '../kvs/value-schema.js';
import type { StoreConfig } from '../config/types.js';
import { open } from 'node:fs/promises';
import type { ReplicaSet } from '../kvs/replica.js';
import type { StoreState } from '../state/types.js';

const CONFIG_ACTOR = { accessKeyId: 'config' };

/** Creates missing stores (with their seed data); returns the names of the stores it created. */
export async function ensureConfigStores(config: EdgeConfig, stores: StoreState): Promise<string[]> {
  const created: string[] = [];
  for (const store of config.stores) {
    const schema = await configSchema(store);
    const existing = await stores.getStore({ name: store.name });
    if (existing !== undefined) {
      if (store.awsId !== undefined && existing.id !== store.awsId) throw awsIdMismatch(store.name, store.awsId, existing.id);
      if (schema !== undefined) await applySchema(stores, store.name, existing.id, schema);
      continue;
    }
    const importItems = store.seedPath === undefined ? undefined : await readImportFile(store.seedPath, { limits: stores.limits });
    try {
      await stores.createStore({ name: store.name, comment: 'declared in the OpenFront config', importItems, id: store.awsId, schema }, CONFIG_ACTOR);
    } catch (err) {
      if (isOpenFrontError(err) && err.code === 'KVS_SCHEMA_VIOLATION') throw inStore(store.name, `its seed ${store.seedPath} fails its schema: `, err);
      // Another control process seeding the same config got there first: its store is the one declared.
      const raced = isOpenFrontError(err) && err.code === 'CF_ENTITY_ALREADY_EXISTS' ? await stores.getStore({ name: store.name }) : undefined;
      if (raced === undefined) throw err;
      if (store.awsId !== undefined && raced.id !== store.awsId) throw awsIdMismatch(store.name, store.awsId, raced.id);
      if (schema !== undefined) await applySchema(stores, store.name, raced.id, schema);
      continue;
    }
    created.push(store.name);
  }
  return created;
}

/** The config's schema document, read (bounded) and checked; undefined when the store declares none. */
async function configSchema(store: StoreConfig): Promise<ParsedValueSchema | undefined> {
  if (store.schema === undefined) return undefined;
  try {
    if ('inline' in store.schema) return parseValueSchema(store.schema.inline);
    return parseValueSchema(await readSchemaFile(store.schema.path));
  } catch (err) {
    if (isOpenFrontError(err)) throw inStore(store.name, 'schema: ', err, 'CONFIG_INVALID');
    throw err;
  }
}

/** Reads at most one byte past the document limit, so a huge (or endless) file is refused without reading it all. */
async function readSchemaFile(file: string): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(VALUE_SCHEMA_LIMITS.maxDocumentBytes + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      length += bytesRead;
      if (bytesRead === 0 || length === buffer.length) break;
    }
    return buffer.toString('utf8', 0, length);
  } finally {
    await handle.close();
  }
}

/** Gives an existing store the config's schema when it differs; racing control processes setting the same one agree. */
async function applySchema(stores: StoreState, name: string, storeId: string, schema: ParsedValueSchema): Promise<void> {
  if ((await stores.getSchema(storeId))?.etag === schema.etag) return;
  try {
    await stores.setSchema(storeId, schema, CONFIG_ACTOR);
  } catch (err) {
    if ((await stores.getSchema(storeId))?.etag === schema.etag) return;
    if (isOpenFrontError(err)) throw inStore(name, 'schema: ', err);
    throw err;
  }
}

/** The same error, its message saying which config store it is about. */
function inStore(name: string, prefix: string, err: OpenFrontError, code = err.code): OpenFrontError {
  return new OpenFrontError(code, `store ${name}: ${prefix}${err.message}`, { store: name, ...err.details });
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
export function replicaStoreResolver(db: SqliteStores, replicas: ReplicaSet): StoreResolver {
  return (name) => {
    const record = db.getStore({ name });
    return record === undefined ? undefined : { id: record.id, source: replicas.get(record.id) };
  };
}
