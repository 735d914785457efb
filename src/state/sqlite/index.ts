/**
 * The embedded backend of `openfront start`: one SQLite file (`node-database.ts`) holds stores, their change log,
 * functions, access keys and the audit log, each kept by its own class on the shared connection, so that a write and
 * its audit record commit together. The classes stay synchronous inside (better-sqlite3); the state interfaces
 * answer with settled promises. The same process's edge follows it through the in-process feeds: `kvs.onChange`
 * for replicas and `registry` (a {@link LiveFunctionFeed}) for LIVE functions.
 */
import type { FunctionRegistryOptions } from '../functions.js';
import type { LiveFunctionFeed, NodeState } from '../types.js';
import { SqliteAccessKeys, type AccessKeyOptions } from './access-keys.js';
import { SqliteAccessKeyState } from './access-key-state.js';
import { SqliteAuditLog } from './audit-log.js';
import { SqliteAuditState } from './audit-state.js';
import { FunctionRegistry, type FunctionRegistryParts } from './function-registry.js';
import { SqliteFunctionState } from './function-state.js';
import { SqliteNodeDatabase, type NodeDatabaseOptions } from './node-database.js';
import { SqliteReleaseState } from './release-state.js';
import { SqliteStoreState } from './store-state.js';
import { SqliteStores, type StoreOptions } from './stores.js';

export { FunctionRegistry } from './function-registry.js';
export { SqliteAccessKeys, SqliteAuditLog, SqliteNodeDatabase, SqliteStores };
export { SqliteAccessKeyState, SqliteAuditState, SqliteFunctionState, SqliteReleaseState, SqliteStoreState };

export type SqliteOptions = NodeDatabaseOptions & StoreOptions & AccessKeyOptions;

/** The node database and the synchronous classes on its tables, before any state interface is built over them. */
export interface SqliteParts extends FunctionRegistryParts {
  readonly keys: SqliteAccessKeys;
}

export interface SqliteState extends NodeState {
  /** The file and its connection; `close()` closes it. */
  readonly database: SqliteNodeDatabase;
  /** The synchronous stores the edge's replicas of this process follow. */
  readonly kvs: SqliteStores;
  /** The synchronous registry; also the LIVE feed of this process's edge. */
  readonly registry: FunctionRegistry & LiveFunctionFeed;
  /** The synchronous access keys (the CLI's `keys` command and the metrics endpoint's signature check use them). */
  readonly keys: SqliteAccessKeys;
  /** The synchronous audit log. */
  readonly auditLog: SqliteAuditLog;
  readonly releases: SqliteReleaseState;
}

/**
 * Opens (creating if needed) the database file and the classes on its tables. The file is closed again when one of
 * them refuses it (a secret key that does not open the stored secrets).
 */
export function openSqliteParts(file: string, options: SqliteOptions = {}): SqliteParts {
  const database = SqliteNodeDatabase.open(file, options);
  try {
    const audit = new SqliteAuditLog(database);
    const stores = new SqliteStores(database, audit, options);
    const keys = new SqliteAccessKeys(database, audit, options);
    return { database, audit, stores, keys };
  } catch (err) {
    database.close();
    throw err;
  }
}

/**
 * The state interfaces over open parts. Pass the `registry` when one was already built on them (its LIVE listeners
 * must see the API's writes); otherwise one is made. `close()` closes the database.
 */
export function sqliteState(parts: SqliteParts, registry: FunctionRegistry = new FunctionRegistry(parts)): SqliteState {
  const { database, stores, audit, keys } = parts;
  return {
    backend: 'sqlite',
    database,
    kvs: stores,
    registry,
    keys,
    auditLog: audit,
    stores: new SqliteStoreState(database, stores, audit),
    functions: new SqliteFunctionState(registry, database, audit),
    accessKeys: new SqliteAccessKeyState(database, keys, audit),
    audit: new SqliteAuditState(audit),
    releases: new SqliteReleaseState(parts, registry),
    close: async () => {
      stores.close();
      database.close();
    },
  };
}

/** Opens (creating if needed) the database file and builds the state over it. */
export function openSqliteState(file: string, options: SqliteOptions & { functions?: FunctionRegistryOptions } = {}): SqliteState {
  const parts = openSqliteParts(file, options);
  return sqliteState(parts, new FunctionRegistry(parts, options.functions));
}
